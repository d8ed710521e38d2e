/**
 * Fleets as their organization manages them: create one (its enrollment token shown once), list
 * them with their devices, rotate the token, revoke a device, delete the fleet. Another
 * organization's fleet does not exist for a caller (404). What a device itself may do is in
 * ./enrollment.ts.
 */
import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import { newSecretToken } from '@edgetune/auth';
import { createFleetSchema, DomainError, newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { parseInput } from '../errors';
import { isUniqueViolation } from '../identity/accounts';
import { recordAudit } from '../identity/audit';
import { authorize, findOwned, notFoundError, orgScope, pageLimit, type Caller } from '../tenant';
import { fleetChanged } from './device-cache';
import { rotateRootKey } from './tuf';

export const FLEET_TOKEN_PREFIX = 'etf_';
export const DEVICE_TOKEN_PREFIX = 'etd_';
/** A device that checked in within this window counts as online (devices check in every minute or so). */
export const DEVICE_FRESH_MS = 5 * 60_000;

type FleetRow = typeof schema.fleets.$inferSelect;
export type DeviceRow = typeof schema.fleetDevices.$inferSelect;

export interface FleetView {
  id: string;
  name: string;
  tokenPrefix: string;
  createdAt: Date;
  devices: { total: number; online: number; revoked: number; failing: number };
  /** Enrolled, not revoked devices by profile and installed version. */
  versions: { profile: string; installedVersion: string | null; devices: number }[];
}

export interface DeviceView {
  id: string;
  name: string;
  profile: string;
  enrolledAt: Date;
  lastCheckInAt: Date | null;
  online: boolean;
  installedVersion: string | null;
  health: DeviceRow['health'];
  lastError: string | null;
  revokedAt: Date | null;
  channel: string;
  bucket: number;
  update: { releaseId: string | null; status: DeviceRow['updateStatus']; error: string | null; smokeLatencyMs: number | null; reportedAt: Date | null };
}

export function deviceView(d: DeviceRow, now = Date.now()): DeviceView {
  return {
    id: d.id,
    name: d.name,
    profile: d.profile,
    enrolledAt: d.enrolledAt,
    lastCheckInAt: d.lastCheckInAt,
    online: !d.revokedAt && !!d.lastCheckInAt && now - d.lastCheckInAt.getTime() <= DEVICE_FRESH_MS,
    installedVersion: d.installedVersion,
    health: d.health,
    lastError: d.lastError,
    revokedAt: d.revokedAt,
    channel: d.channel,
    bucket: d.bucket,
    update: { releaseId: d.updateReleaseId, status: d.updateStatus, error: d.updateError, smokeLatencyMs: d.updateLatencyMs, reportedAt: d.updateReportedAt },
  };
}

async function fleetViews(rows: FleetRow[]): Promise<FleetView[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const fresh = sql`${schema.fleetDevices.lastCheckInAt} > now() - ${DEVICE_FRESH_MS} * interval '1 millisecond'`;
  const totals = await db()
    .select({
      fleetId: schema.fleetDevices.fleetId,
      total: count(),
      online: sql<number>`count(*) filter (where ${schema.fleetDevices.revokedAt} is null and ${fresh})`,
      revoked: sql<number>`count(*) filter (where ${schema.fleetDevices.revokedAt} is not null)`,
      failing: sql<number>`count(*) filter (where ${schema.fleetDevices.revokedAt} is null and ${schema.fleetDevices.health} = 'failed')`,
    })
    .from(schema.fleetDevices)
    .where(inArray(schema.fleetDevices.fleetId, ids))
    .groupBy(schema.fleetDevices.fleetId);
  const versions = await db()
    .select({ fleetId: schema.fleetDevices.fleetId, profile: schema.fleetDevices.profile, installedVersion: schema.fleetDevices.installedVersion, devices: count() })
    .from(schema.fleetDevices)
    .where(and(inArray(schema.fleetDevices.fleetId, ids), isNull(schema.fleetDevices.revokedAt)))
    .groupBy(schema.fleetDevices.fleetId, schema.fleetDevices.profile, schema.fleetDevices.installedVersion)
    .orderBy(asc(schema.fleetDevices.profile), asc(schema.fleetDevices.installedVersion));
  return rows.map((r) => {
    const t = totals.find((x) => x.fleetId === r.id);
    return {
      id: r.id,
      name: r.name,
      tokenPrefix: r.tokenPrefix,
      createdAt: r.createdAt,
      devices: { total: Number(t?.total ?? 0), online: Number(t?.online ?? 0), revoked: Number(t?.revoked ?? 0), failing: Number(t?.failing ?? 0) },
      versions: versions.filter((v) => v.fleetId === r.id).map((v) => ({ profile: v.profile, installedVersion: v.installedVersion, devices: Number(v.devices) })),
    };
  });
}

export async function listFleets(caller: Caller): Promise<FleetView[]> {
  authorize(caller, 'read');
  return fleetViews(await db().select().from(schema.fleets).where(orgScope(caller, schema.fleets)).orderBy(asc(schema.fleets.name)));
}

export async function getFleet(caller: Caller, id: string): Promise<FleetView> {
  authorize(caller, 'read');
  return (await fleetViews([await findOwned(caller, schema.fleets, id, 'fleet')]))[0];
}

export interface CreatedFleet {
  fleet: FleetView;
  /** Shown once; only its sha256 is stored. */
  enrollmentToken: string;
}

export async function createFleet(caller: Caller, body: unknown): Promise<CreatedFleet> {
  authorize(caller, 'manage_fleets');
  const { name } = parseInput(createFleetSchema, body);
  const id = newId('fleet');
  const t = newSecretToken(FLEET_TOKEN_PREFIX);
  try {
    await db().transaction(async (tx) => {
      await tx.insert(schema.fleets).values({ id, orgId: caller.orgId, name, tokenHash: t.hash, tokenPrefix: t.shown, createdBy: caller.userId });
      await recordAudit(caller, { action: 'fleet.created', targetType: 'fleet', targetId: id, data: { name } }, tx);
    });
  } catch (e) {
    if (isUniqueViolation(e, 'fleets_org_name')) throw new DomainError('conflict', `A fleet named '${name}' already exists in this organization.`, { param: 'name' });
    throw e;
  }
  return { fleet: await getFleet(caller, id), enrollmentToken: t.token };
}

/** A new enrollment token; the old one stops enrolling at once. Enrolled devices keep their own tokens. */
export async function rotateFleetToken(caller: Caller, id: string): Promise<CreatedFleet> {
  authorize(caller, 'manage_fleets');
  const fleet = await findOwned(caller, schema.fleets, id, 'fleet');
  const t = newSecretToken(FLEET_TOKEN_PREFIX);
  await db().transaction(async (tx) => {
    await tx.update(schema.fleets).set({ tokenHash: t.hash, tokenPrefix: t.shown }).where(orgScope(caller, schema.fleets, eq(schema.fleets.id, fleet.id)));
    await recordAudit(caller, { action: 'fleet.token_rotated', targetType: 'fleet', targetId: fleet.id, data: { name: fleet.name } }, tx);
  });
  fleetChanged(fleet.id);
  return { fleet: await getFleet(caller, fleet.id), enrollmentToken: t.token };
}

export async function deleteFleet(caller: Caller, id: string): Promise<{ id: string; deleted: true }> {
  authorize(caller, 'manage_fleets');
  const fleet = await findOwned(caller, schema.fleets, id, 'fleet');
  await db().transaction(async (tx) => {
    await tx.delete(schema.fleets).where(orgScope(caller, schema.fleets, eq(schema.fleets.id, fleet.id)));
    await recordAudit(caller, { action: 'fleet.deleted', targetType: 'fleet', targetId: fleet.id, data: { name: fleet.name } }, tx);
  });
  fleetChanged(fleet.id);
  return { id: fleet.id, deleted: true };
}

export async function listFleetDevices(caller: Caller, fleetId: string, opts: { limit?: number; after?: string | null } = {}): Promise<{ data: DeviceView[]; hasMore: boolean }> {
  authorize(caller, 'read');
  const fleet = await findOwned(caller, schema.fleets, fleetId, 'fleet');
  const limit = pageLimit(opts.limit, 100, 1000);
  const rows = await db()
    .select()
    .from(schema.fleetDevices)
    .where(orgScope(caller, schema.fleetDevices, eq(schema.fleetDevices.fleetId, fleet.id), opts.after ? sql`${schema.fleetDevices.name} > ${opts.after}` : undefined))
    .orderBy(asc(schema.fleetDevices.name))
    .limit(limit + 1);
  return { data: rows.slice(0, limit).map((d) => deviceView(d)), hasMore: rows.length > limit };
}

/** A revoked device's token is refused from its next request on (401). */
export async function revokeDevice(caller: Caller, fleetId: string, deviceId: string): Promise<DeviceView> {
  authorize(caller, 'manage_fleets');
  const fleet = await findOwned(caller, schema.fleets, fleetId, 'fleet');
  const device = await findOwned(caller, schema.fleetDevices, deviceId, 'device', 'device_id');
  if (device.fleetId !== fleet.id) throw notFoundError('device', deviceId, 'device_id');
  const [updated] = await db().transaction(async (tx) => {
    const rows = await tx
      .update(schema.fleetDevices)
      .set({ revokedAt: sql`coalesce(${schema.fleetDevices.revokedAt}, now())` })
      .where(orgScope(caller, schema.fleetDevices, eq(schema.fleetDevices.id, device.id)))
      .returning();
    await recordAudit(caller, { action: 'fleet.device_revoked', targetType: 'device', targetId: device.id, data: { fleet: fleet.name, name: device.name } }, tx);
    return rows;
  });
  fleetChanged(fleet.id);
  return deviceView(updated);
}

/** A new root signing key for the fleet's TUF metadata: root N+1, signed by the old and the new key. */
export async function rotateFleetRoot(caller: Caller, fleetId: string): Promise<{ version: number; keyId: string }> {
  authorize(caller, 'manage_fleets');
  const fleet = await findOwned(caller, schema.fleets, fleetId, 'fleet');
  const r = await rotateRootKey(fleet);
  await recordAudit(caller, { action: 'fleet.root_rotated', targetType: 'fleet', targetId: fleet.id, data: { name: fleet.name, version: r.version, keyId: r.keyId } });
  return r;
}
