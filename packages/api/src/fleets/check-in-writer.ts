/**
 * Check-ins are written together: while one batch is being written, those that arrive wait, and
 * the next batch writes all of them in one statement and one commit (a group commit). Each
 * check-in is answered only once its batch has committed, so nothing acknowledged is lost; under
 * light load a batch is a single check-in and nothing waits.
 *
 * Measured by `npm run bench:fleet` (see the README): one commit per check-in bound the rate.
 */
import { getTableColumns, sql } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';

type DeviceRow = typeof schema.fleetDevices.$inferSelect;

export interface CheckInWrite {
  deviceId: string;
  orgId: string;
  health: string;
  installedVersion: string | null;
  lastError: string | null;
  /** An update report; written only when it differs from the device's last one. */
  report: { releaseId: string; status: 'installed' | 'failed'; error: string | null; latencyMs: number | null } | null;
}

export interface CheckInWritten {
  device: DeviceRow;
  /** The report was new (another release or status than the device's last report). */
  newReport: boolean;
}

interface Pending {
  write: CheckInWrite;
  resolve: (r: CheckInWritten | null) => void;
  reject: (e: unknown) => void;
}

/** Bounds a statement's size; more waiting check-ins go in the next batch. */
const MAX_BATCH = 500;

let queue: Pending[] = [];
let writing = false;

/** Statements written and the check-ins they carried, since the process started (tests, diagnostics). */
export const checkInStats = { batches: 0, checkIns: 0 };

/** Writes a device's check-in; null when the device is not in that organization, or revoked. */
export function writeCheckIn(write: CheckInWrite): Promise<CheckInWritten | null> {
  return new Promise((resolve, reject) => {
    queue.push({ write, resolve, reject });
    if (!writing) void drain();
  });
}

async function drain(): Promise<void> {
  writing = true;
  try {
    while (queue.length) {
      // A device twice in one statement would be updated once: its second check-in waits a batch.
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      const seen = new Set<string>();
      for (const p of queue) {
        if (batch.length < MAX_BATCH && !seen.has(p.write.deviceId)) {
          seen.add(p.write.deviceId);
          batch.push(p);
        } else rest.push(p);
      }
      queue = rest;
      try {
        const written = await writeBatch(batch.map((p) => p.write));
        checkInStats.batches++;
        checkInStats.checkIns += batch.length;
        for (const p of batch) p.resolve(written.get(p.write.deviceId) ?? null);
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
  } finally {
    writing = false;
  }
}

/** A row as `returning d.*` gives it, in the form drizzle's own queries return. */
function deviceRow(raw: Record<string, unknown>): DeviceRow {
  const row: Record<string, unknown> = {};
  for (const [key, col] of Object.entries(getTableColumns(schema.fleetDevices))) {
    const v = raw[col.name];
    row[key] = v === null || v === undefined ? null : col.mapFromDriverValue(v);
  }
  return row as DeviceRow;
}

async function writeBatch(writes: CheckInWrite[]): Promise<Map<string, CheckInWritten>> {
  // Each column travels as one array parameter (a plain JS array would be spread into a list).
  const col = <T>(f: (w: CheckInWrite) => T) => sql.param(writes.map(f));
  // Rows are locked in id order, so two batches (of two web servers) never wait on each other in a cycle.
  const r = await db().execute<Record<string, unknown>>(sql`
    with input as (
      select * from unnest(
        ${col((w) => w.deviceId)}::text[], ${col((w) => w.orgId)}::text[], ${col((w) => w.health)}::text[],
        ${col((w) => w.installedVersion)}::text[], ${col((w) => w.lastError)}::text[], ${col((w) => w.report?.releaseId ?? null)}::text[],
        ${col((w) => w.report?.status ?? null)}::text[], ${col((w) => w.report?.error ?? null)}::text[], ${col((w) => w.report?.latencyMs ?? null)}::float8[]
      ) as t(id, org_id, health, installed_version, last_error, rel, status, err, latency)
    ),
    old as (
      select d.id, (i.rel is not null and (d.update_release_id is distinct from i.rel or d.update_status is distinct from i.status)) as new_report
      from fleet_devices d join input i on i.id = d.id and i.org_id = d.org_id
      -- A device revoked since its token was looked up writes nothing.
      where d.revoked_at is null
      order by d.id for update of d
    )
    update fleet_devices d set
      last_check_in_at = now(),
      health = i.health,
      installed_version = i.installed_version,
      last_error = i.last_error,
      update_release_id = case when o.new_report then i.rel else d.update_release_id end,
      update_status = case when o.new_report then i.status else d.update_status end,
      update_error = case when o.new_report then i.err else d.update_error end,
      update_latency_ms = case when o.new_report then i.latency else d.update_latency_ms end,
      update_reported_at = case when o.new_report then now() else d.update_reported_at end
    from input i join old o on o.id = i.id
    where d.id = i.id
    returning d.*, o.new_report as "__new_report"`);
  const out = new Map<string, CheckInWritten>();
  for (const raw of r.rows) {
    const device = deviceRow(raw);
    out.set(device.id, { device, newReport: raw.__new_report === true });
  }
  return out;
}
