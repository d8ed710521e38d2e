/**
 * What an edge device may do, and nothing more: enroll with its fleet's enrollment token (and get
 * a device token of its own, shown once), then check in with that device token. Neither token is
 * an API key: on every other route they are refused like any unknown credential (401).
 */
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
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

/** How often a device is asked to check in. */
export const CHECK_IN_SECONDS = 60;

type FleetRow = typeof schema.fleets.$inferSelect;
type DeviceRow = typeof schema.fleetDevices.$inferSelect;

/** Who calls a device route: a holder of a fleet's enrollment token, or an enrolled device. */
export type DeviceCaller = { kind: 'enrollment'; fleet: FleetRow } | { kind: 'device'; fleet: FleetRow; device: DeviceRow };

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

async function resolve(token: string): Promise<DeviceCaller | null> {
  if (looksLikeSecretToken(token, FLEET_TOKEN_PREFIX)) {
    const [fleet] = await db().select().from(schema.fleets).where(eq(schema.fleets.tokenHash, hashSecretToken(token))).limit(1);
    return fleet ? { kind: 'enrollment', fleet } : null;
  }
  if (looksLikeSecretToken(token, DEVICE_TOKEN_PREFIX)) {
    const [row] = await db()
      .select({ device: schema.fleetDevices, fleet: schema.fleets })
      .from(schema.fleetDevices)
      .innerJoin(schema.fleets, eq(schema.fleets.id, schema.fleetDevices.fleetId))
      .where(eq(schema.fleetDevices.tokenHash, hashSecretToken(token)))
      .limit(1);
    return row && !row.device.revokedAt ? { kind: 'device', fleet: row.fleet, device: row.device } : null;
  }
  return null;
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
  const newReport = !!u && (caller.device.updateReleaseId !== u.release_id || caller.device.updateStatus !== u.status);
  const [row] = await db()
    .update(schema.fleetDevices)
    .set({
      lastCheckInAt: new Date(),
      health: input.health,
      installedVersion: input.installed_version ?? null,
      lastError: input.last_error ?? null,
      ...(u && newReport
        ? { updateReleaseId: u.release_id, updateStatus: u.status, updateError: u.error ?? null, updateLatencyMs: u.smoke_latency_ms ?? null, updateReportedAt: new Date() }
        : {}),
    })
    .where(and(eq(schema.fleetDevices.id, caller.device.id), eq(schema.fleetDevices.orgId, caller.fleet.orgId)))
    .returning();
  if (u && newReport && u.status === 'failed') await judgeStep(u.release_id, row.bucket);
  return { device: deviceView(row), checkInSeconds: CHECK_IN_SECONDS };
}
