/**
 * What an edge device may do, and nothing more: enroll with its fleet's enrollment token (and get
 * a device token of its own, shown once), then check in with that device token. Neither token is
 * an API key: on every other route they are refused like any unknown credential (401).
 */
import { createHash } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { hashSecretToken, limitKeys, looksLikeSecretToken, newSecretToken, type RequestMeta } from '@edgetune/auth';
import { checkInSchema, DomainError, enrollDeviceSchema, findDeviceProfile, newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { parseInput } from '../errors';
import { resolveMachineToken } from '../http/machine-tokens';
import { isUniqueViolation } from '../identity/accounts';
import { notFoundError } from '../tenant';
import { DEVICE_TOKEN_PREFIX, deviceView, FLEET_TOKEN_PREFIX, type DeviceView } from './fleets';
import { judgeStep } from './releases';
import { assertQuota, lockOrgBilling } from '../billing/account';
import { writeCheckIn } from './check-in-writer';
import { FleetCache } from './device-cache';

/** How often a device is asked to check in. */
export const CHECK_IN_SECONDS = 60;

type FleetRow = typeof schema.fleets.$inferSelect;
type DeviceRow = typeof schema.fleetDevices.$inferSelect;
/** A fleet as a token's holder knows it. */
export type FleetIdentity = Pick<FleetRow, 'id' | 'orgId' | 'name'>;
/**
 * A device as its token's holder knows it: what does not change while the token is valid (a
 * change of any of it drops the cached caller). What the device reports is read where needed.
 */
export type DeviceIdentity = Pick<DeviceRow, 'id' | 'orgId' | 'fleetId' | 'name' | 'profile' | 'channel' | 'bucket'>;

/** Who calls a device route: a holder of a fleet's enrollment token, or an enrolled device. */
export type DeviceCaller = { kind: 'enrollment'; fleet: FleetIdentity } | { kind: 'device'; fleet: FleetIdentity; device: DeviceIdentity };

/** Devices poll every minute: a process keeps the callers of this many tokens (about 0.3 kB each). */
const CALLER_CACHE_ENTRIES = 200_000;
const callers = new FleetCache<DeviceCaller>(CALLER_CACHE_ENTRIES);

/** The caller of a bearer token, or 401 (wrong, rotated or revoked tokens count against the address). */
export function deviceCallerFromToken(token: string | null, meta: RequestMeta): Promise<DeviceCaller> {
  return resolveMachineToken({
    token,
    meta,
    ipKey: limitKeys.fleetTokenIp,
    failures: 'failed fleet token attempts from your address',
    lookup: resolve,
    refusal: 'This fleet or device token is not valid: it was rotated or revoked, or its fleet was deleted.',
    missing: "Send the fleet's enrollment token (to enroll) or the device's token (to check in) as 'Authorization: Bearer …'.",
  });
}

const fleetIdentity = { id: schema.fleets.id, orgId: schema.fleets.orgId, name: schema.fleets.name };
const deviceIdentity = {
  id: schema.fleetDevices.id,
  orgId: schema.fleetDevices.orgId,
  fleetId: schema.fleetDevices.fleetId,
  name: schema.fleetDevices.name,
  profile: schema.fleetDevices.profile,
  channel: schema.fleetDevices.channel,
  bucket: schema.fleetDevices.bucket,
};

/** The token lookups, prepared once per database connection pool (each device's first request runs them). */
const prepareLookups = (database: ReturnType<typeof db>) => ({
  database,
  fleet: database.select(fleetIdentity).from(schema.fleets).where(eq(schema.fleets.tokenHash, sql.placeholder('hash'))).limit(1).prepare('fleet_by_token'),
  device: database
    .select({ device: deviceIdentity, fleet: fleetIdentity })
    .from(schema.fleetDevices)
    .innerJoin(schema.fleets, eq(schema.fleets.id, schema.fleetDevices.fleetId))
    .where(and(eq(schema.fleetDevices.tokenHash, sql.placeholder('hash')), isNull(schema.fleetDevices.revokedAt)))
    .limit(1)
    .prepare('device_by_token'),
});
let lookups: ReturnType<typeof prepareLookups> | null = null;
const tokenLookups = () => (lookups?.database === db() ? lookups : (lookups = prepareLookups(db())));

function resolve(token: string): Promise<DeviceCaller | null> {
  const enrollment = looksLikeSecretToken(token, FLEET_TOKEN_PREFIX);
  if (!enrollment && !looksLikeSecretToken(token, DEVICE_TOKEN_PREFIX)) return Promise.resolve(null);
  const hash = hashSecretToken(token);
  return callers.get(hash, async () => {
    if (enrollment) {
      const [fleet] = await tokenLookups().fleet.execute({ hash });
      return fleet ? { fleetId: fleet.id, value: { kind: 'enrollment', fleet } } : null;
    }
    const [row] = await tokenLookups().device.execute({ hash });
    return row ? { fleetId: row.fleet.id, value: { kind: 'device', fleet: row.fleet, device: row.device } } : null;
  });
}

/** The fleet in the path must be the token's own: to a token, another fleet does not exist. */
export function ownFleet(caller: DeviceCaller, fleetId: string): void {
  if (caller.fleet.id !== fleetId) throw notFoundError('fleet', fleetId);
}

export interface EnrolledDevice {
  device: DeviceView;
  /** Shown once; only its sha256 is stored. */
  deviceToken: string;
  checkInSeconds: number;
}

export async function enrollDevice(caller: DeviceCaller, fleetId: string, body: unknown): Promise<EnrolledDevice> {
  ownFleet(caller, fleetId);
  if (caller.kind !== 'enrollment') throw new DomainError('forbidden', "Enrolling takes the fleet's enrollment token, not a device token.");
  const input = parseInput(enrollDeviceSchema, body);
  if (!findDeviceProfile(input.profile)) {
    throw new DomainError('invalid_request', `Unknown device profile '${input.profile}'. See GET /api/v1/devices for the catalog.`, { param: 'profile' });
  }
  const t = newSecretToken(DEVICE_TOKEN_PREFIX);
  const id = newId('device');
  // A stable rollout bucket from the id: a release at p % reaches buckets 0 … p-1.
  const bucket = createHash('sha256').update(id).digest().readUInt32BE(0) % 100;
  try {
    const row = await db().transaction(async (tx) => {
      await lockOrgBilling(tx, caller.fleet.orgId);
      await assertQuota(caller.fleet.orgId, 'fleet_devices', 1, tx);
      const [inserted] = await tx
        .insert(schema.fleetDevices)
        .values({ id, orgId: caller.fleet.orgId, fleetId: caller.fleet.id, name: input.name, profile: input.profile, fingerprint: input.fingerprint, tokenHash: t.hash, channel: input.channel, bucket })
        .returning();
      return inserted;
    });
    return { device: deviceView(row), deviceToken: t.token, checkInSeconds: CHECK_IN_SECONDS };
  } catch (e) {
    if (isUniqueViolation(e, 'fleet_devices_fleet_name')) {
      throw new DomainError('conflict', `A device named '${input.name}' is already enrolled in this fleet; revoke it to enroll the name again.`, { param: 'name' });
    }
    throw e;
  }
}

export async function checkIn(caller: DeviceCaller, fleetId: string, deviceId: string, body: unknown): Promise<{ device: DeviceView; checkInSeconds: number }> {
  ownFleet(caller, fleetId);
  if (caller.kind !== 'device' || caller.device.id !== deviceId) throw notFoundError('device', deviceId, 'device_id');
  const input = parseInput(checkInSchema, body);
  const u = input.update;
  if (u) {
    const [release] = await db()
      .select({ id: schema.fleetReleases.id })
      .from(schema.fleetReleases)
      .where(and(eq(schema.fleetReleases.id, u.release_id), eq(schema.fleetReleases.fleetId, caller.fleet.id)))
      .limit(1);
    if (!release) throw new DomainError('invalid_request', `No release '${u.release_id}' in this fleet: report the release_id from the targets' custom field.`, { param: 'update.release_id' });
  }
  // A report is counted once per device and release: repeating it in later check-ins changes nothing.
  const written = await writeCheckIn({
    deviceId: caller.device.id,
    orgId: caller.fleet.orgId,
    health: input.health,
    installedVersion: input.installed_version ?? null,
    lastError: input.last_error ?? null,
    report: u ? { releaseId: u.release_id, status: u.status, error: u.error ?? null, latencyMs: u.smoke_latency_ms ?? null } : null,
  });
  if (!written) throw notFoundError('device', deviceId, 'device_id');
  if (u && written.newReport && u.status === 'failed') await judgeStep(u.release_id, written.device.bucket);
  return { device: deviceView(written.device), checkInSeconds: CHECK_IN_SECONDS };
}
