/**
 * What an enrolled device reads to update itself, by its own device token: its fleet's roots,
 * and the timestamp / snapshot / targets of the release it is served (the newest of its channel
 * that covers its rollout bucket), and that release's files with byte ranges. Another release's
 * metadata, another fleet's and another profile's files do not exist for it (404).
 */
import type { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { openRange, type RangeResult } from '../models/models';
import { ownFleet, type DeviceCaller, type DeviceIdentity } from './enrollment';
import { FleetCache } from './device-cache';
import { servedRelease, type ReleaseRow } from './releases';
import { ensureRepository, rootBody, timestampFor, type SignedTimestamp } from './tuf';

function deviceOf(caller: DeviceCaller, fleetId: string): DeviceIdentity {
  ownFleet(caller, fleetId);
  if (caller.kind !== 'device') throw new DomainError('forbidden', "Release metadata is read with a device's own token, not the fleet's enrollment token.");
  return caller.device;
}

const noRelease = (d: DeviceIdentity) =>
  new DomainError('not_found', `Nothing is released to this device yet (channel '${d.channel}', rollout bucket ${d.bucket}).`, { param: 'release' });

/** Every device of a (fleet, channel, bucket) is served the same release: kept per process (about 10 kB each). */
const SERVED_CACHE_ENTRIES = 4096;
const servedReleases = new FleetCache<ReleaseRow>(SERVED_CACHE_ENTRIES);

async function served(d: DeviceIdentity): Promise<ReleaseRow> {
  const r = await servedReleases.get(`${d.fleetId}\0${d.channel}\0${d.bucket}`, async () => {
    const row = await servedRelease(d);
    return row && { fleetId: d.fleetId, value: row };
  });
  if (!r) throw noRelease(d);
  return r;
}

export async function deviceRoot(caller: DeviceCaller, fleetId: string, version: number): Promise<string> {
  deviceOf(caller, fleetId);
  const valid = Number.isSafeInteger(version) && version > 0;
  let body = valid ? await rootBody(caller.fleet.id, version) : null;
  // Devices ask for root n+1 on every refresh (and get 404); only a fleet's very first root 1 is created here.
  if (!body && version === 1) {
    await ensureRepository(caller.fleet);
    body = await rootBody(caller.fleet.id, 1);
  }
  if (!body) throw new DomainError('not_found', `This fleet has no root version ${version}.`, { param: 'version' });
  return body;
}

export async function deviceTimestamp(caller: DeviceCaller, fleetId: string): Promise<SignedTimestamp> {
  return timestampFor(await served(deviceOf(caller, fleetId)));
}

/** The snapshot or targets metadata of the device's release, by its version number. */
export async function deviceReleaseMetadata(caller: DeviceCaller, fleetId: string, role: 'snapshot' | 'targets', version: number): Promise<string> {
  const r = await served(deviceOf(caller, fleetId));
  if (version !== r.seq) throw new DomainError('not_found', `No ${role} version ${version} for this device: its release has version ${r.seq}.`, { param: 'version' });
  return role === 'snapshot' ? r.snapshotBody : r.targetsBody;
}

export interface TargetDownload {
  sha256: string;
  size: number;
  range: RangeResult;
  stream: Readable | null;
}

/**
 * A file of the device's release, by its TUF path (`<profile>/<sha256>.model.gguf`, the consistent
 * snapshot form); only the device's own profile's file.
 */
export async function openDeviceTarget(caller: DeviceCaller, fleetId: string, path: string, rangeHeader: string | null): Promise<TargetDownload> {
  const d = deviceOf(caller, fleetId);
  const r = await served(d);
  const m = /^([^/]+)\/([0-9a-f]{64})\.model\.gguf$/.exec(path);
  const missing = () => new DomainError('not_found', `No target '${path}' in this device's release.`, { param: 'path' });
  if (!m || m[1] !== d.profile) throw missing();
  const [t] = await db()
    .select({ sha256: schema.fleetReleaseTargets.sha256, sizeBytes: schema.fleetReleaseTargets.sizeBytes, storageKey: schema.modelVariants.storageKey })
    .from(schema.fleetReleaseTargets)
    .innerJoin(schema.modelVariants, eq(schema.modelVariants.id, schema.fleetReleaseTargets.variantId))
    .where(and(eq(schema.fleetReleaseTargets.releaseId, r.id), eq(schema.fleetReleaseTargets.profile, d.profile)))
    .limit(1);
  if (!t || t.sha256 !== m[2]) throw missing();
  return { sha256: t.sha256, size: t.sizeBytes, ...(await openRange(t.storageKey, t.sizeBytes, rangeHeader)) };
}
