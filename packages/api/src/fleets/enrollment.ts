/**
 * What an edge device may do, and nothing more: enroll with its fleet's enrollment token (and get
 * a device token of its own, shown once), then check in with that device token. Neither token is
 * an API key: on every other route they are refused like any unknown credential (401).
 */
import { and, eq } from 'drizzle-orm';
import { assertNotLocked, countAttempt, hashSecretToken, limitKeys, lockedError, looksLikeSecretToken, newSecretToken, rateLimitRules, type RequestMeta } from '@edgetune/auth';
import { checkInSchema, DomainError, enrollDeviceSchema, findDeviceProfile, newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { parseInput } from '../errors';
import { isUniqueViolation } from '../identity/accounts';
import { notFoundError } from '../tenant';
import { DEVICE_TOKEN_PREFIX, deviceView, FLEET_TOKEN_PREFIX, type DeviceView } from './fleets';

/** How often a device is asked to check in. */
export const CHECK_IN_SECONDS = 60;

type FleetRow = typeof schema.fleets.$inferSelect;
type DeviceRow = typeof schema.fleetDevices.$inferSelect;

/** Who calls a device route: a holder of a fleet's enrollment token, or an enrolled device. */
export type DeviceCaller = { kind: 'enrollment'; fleet: FleetRow } | { kind: 'device'; fleet: FleetRow; device: DeviceRow };

const tokenFailures = 'failed fleet token attempts from your address';

/** The caller of a bearer token, or 401 (wrong, rotated or revoked tokens count against the address). */
export async function deviceCallerFromToken(token: string | null, meta: RequestMeta): Promise<DeviceCaller> {
  const ipKey = meta.ip ? limitKeys.fleetTokenIp(meta.ip) : null;
  await assertNotLocked([ipKey], tokenFailures);
  const caller = await resolve(token);
  if (caller) return caller;
  const until = await countAttempt(ipKey, rateLimitRules().apiKeyIp);
  if (until) throw lockedError(tokenFailures, until);
  throw new DomainError(
    'unauthenticated',
    token
      ? 'This fleet or device token is not valid: it was rotated or revoked, or its fleet was deleted.'
      : "Send the fleet's enrollment token (to enroll) or the device's token (to check in) as 'Authorization: Bearer …'.",
  );
}

async function resolve(token: string | null): Promise<DeviceCaller | null> {
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
function ownFleet(caller: DeviceCaller, fleetId: string): void {
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
  try {
    const [row] = await db()
      .insert(schema.fleetDevices)
      .values({ id, orgId: caller.fleet.orgId, fleetId: caller.fleet.id, name: input.name, profile: input.profile, fingerprint: input.fingerprint, tokenHash: t.hash })
      .returning();
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
  const [row] = await db()
    .update(schema.fleetDevices)
    .set({ lastCheckInAt: new Date(), health: input.health, installedVersion: input.installed_version ?? null, lastError: input.last_error ?? null })
    .where(and(eq(schema.fleetDevices.id, caller.device.id), eq(schema.fleetDevices.orgId, caller.fleet.orgId)))
    .returning();
  return { device: deviceView(row), checkInSeconds: CHECK_IN_SECONDS };
}
