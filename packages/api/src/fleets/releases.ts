/**
 * Releases of a model version to a fleet channel and their staged rollouts: created at a first
 * step, advanced by hand or after a soak time when the step's failure rate is at or below the
 * threshold, halted when a step's failures pass it, paused and resumed, and rolled back by a new,
 * higher release of the model before. Every action is in the audit log.
 */
import { and, asc, desc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { createReleaseSchema, DomainError, newId, rolloutSteps } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { isUniqueViolation } from '../identity/accounts';
import { parseInput } from '../errors';
import { recordAudit, type AuditActor } from '../identity/audit';
import { getModelVersion } from '../models/models';
import { authorize, findOwned, notFoundError, orgScope, pageLimit, type Caller } from '../tenant';
import { fleetChanged } from './device-cache';
import { signRelease, type ReleaseTarget } from './tuf';

export type ReleaseRow = typeof schema.fleetReleases.$inferSelect;
type ReleaseState = ReleaseRow['state'];
type FleetRow = typeof schema.fleets.$inferSelect;

/** Releases in these states no longer change; a newer release supersedes the others. */
const FINAL_STATES: ReleaseState[] = ['complete', 'superseded', 'rolled_back'];
const MAX_SEQ = 2 ** 20 - 1;

export interface StepStats {
  percent: number;
  /** Enrolled, not revoked devices of the channel whose bucket this step adds. */
  devices: number;
  reports: number;
  failures: number;
  failureRate: number | null;
}

/** A release as callers see it: its row without the signed metadata, with its targets and step statistics. */
export type ReleaseView = Omit<ReleaseRow, 'orgId' | 'modelName' | 'targetsBody' | 'snapshotBody' | 'createdBy'> & {
  model: string;
  targets: { profile: string; variantId: string; sha256: string; sizeBytes: number }[];
  stats: StepStats[];
};

/** The step a bucket (0–99) belongs to: the first step whose percentage is above it. */
export const stepOfBucket = (steps: number[], bucket: number) => steps.findIndex((p) => bucket < p);

/**
 * Per step of each release: the channel's devices whose bucket it adds, their reports on the
 * release and its failures. Two queries whatever the number of releases.
 */
async function stepStatsOf(releases: ReleaseRow[]): Promise<Map<string, StepStats[]>> {
  const out = new Map<string, StepStats[]>();
  if (!releases.length) return out;
  const devices = await db()
    .select({ fleetId: schema.fleetDevices.fleetId, channel: schema.fleetDevices.channel, bucket: schema.fleetDevices.bucket, n: sql<number>`count(*)::int` })
    .from(schema.fleetDevices)
    .where(and(inArray(schema.fleetDevices.fleetId, [...new Set(releases.map((r) => r.fleetId))]), isNull(schema.fleetDevices.revokedAt)))
    .groupBy(schema.fleetDevices.fleetId, schema.fleetDevices.channel, schema.fleetDevices.bucket);
  const reports = await db()
    .select({ releaseId: schema.fleetDevices.updateReleaseId, bucket: schema.fleetDevices.bucket, status: schema.fleetDevices.updateStatus, n: sql<number>`count(*)::int` })
    .from(schema.fleetDevices)
    .where(and(inArray(schema.fleetDevices.updateReleaseId, releases.map((r) => r.id)), isNull(schema.fleetDevices.revokedAt)))
    .groupBy(schema.fleetDevices.updateReleaseId, schema.fleetDevices.bucket, schema.fleetDevices.updateStatus);
  for (const release of releases) {
    const stats: StepStats[] = release.steps.map((percent) => ({ percent, devices: 0, reports: 0, failures: 0, failureRate: null }));
    for (const d of devices) if (d.fleetId === release.fleetId && d.channel === release.channel) stats[stepOfBucket(release.steps, d.bucket)].devices += Number(d.n);
    for (const r of reports) {
      if (r.releaseId !== release.id) continue;
      const s = stats[stepOfBucket(release.steps, r.bucket)];
      s.reports += Number(r.n);
      if (r.status === 'failed') s.failures += Number(r.n);
    }
    for (const s of stats) s.failureRate = s.reports ? s.failures / s.reports : null;
    out.set(release.id, stats);
  }
  return out;
}

const stepStats = async (release: ReleaseRow) => (await stepStatsOf([release])).get(release.id)!;

async function views(rows: ReleaseRow[]): Promise<ReleaseView[]> {
  if (!rows.length) return [];
  const targets = await db()
    .select()
    .from(schema.fleetReleaseTargets)
    .where(inArray(schema.fleetReleaseTargets.releaseId, rows.map((r) => r.id)))
    .orderBy(asc(schema.fleetReleaseTargets.profile));
  const stats = await stepStatsOf(rows);
  return rows.map(({ orgId: _org, modelName, targetsBody: _t, snapshotBody: _s, createdBy: _by, percent, ...r }) => ({
    ...r,
    model: modelName,
    percent,
    targets: targets.filter((t) => t.releaseId === r.id).map((t) => ({ profile: t.profile, variantId: t.variantId, sha256: t.sha256, sizeBytes: t.sizeBytes })),
    stats: stats.get(r.id)!,
  }));
}

export async function listReleases(caller: Caller, fleetId: string, opts: { limit?: number } = {}): Promise<{ data: ReleaseView[]; hasMore: boolean }> {
  authorize(caller, 'read');
  const fleet = await findOwned(caller, schema.fleets, fleetId, 'fleet');
  const limit = pageLimit(opts.limit, 50, 200);
  const rows = await db()
    .select()
    .from(schema.fleetReleases)
    .where(orgScope(caller, schema.fleetReleases, eq(schema.fleetReleases.fleetId, fleet.id)))
    .orderBy(desc(schema.fleetReleases.createdAt))
    .limit(limit + 1);
  return { data: await views(rows.slice(0, limit)), hasMore: rows.length > limit };
}

async function ownedRelease(caller: Caller, fleetId: string, releaseId: string): Promise<{ fleet: FleetRow; release: ReleaseRow }> {
  const fleet = await findOwned(caller, schema.fleets, fleetId, 'fleet');
  const release = await findOwned(caller, schema.fleetReleases, releaseId, 'release', 'release_id');
  if (release.fleetId !== fleet.id) throw notFoundError('release', releaseId, 'release_id');
  return { fleet, release };
}

export async function getRelease(caller: Caller, fleetId: string, releaseId: string): Promise<ReleaseView> {
  authorize(caller, 'read');
  return (await views([(await ownedRelease(caller, fleetId, releaseId)).release]))[0];
}

interface NewRelease {
  fleet: FleetRow;
  channel: string;
  versionId: string;
  steps: number[];
  soakMinutes: number | null;
  failureThreshold: number;
  minReports: number;
  rollbackOf: string | null;
  actor: Caller;
  action: 'fleet.release_created' | 'fleet.release_rolled_back';
}

/** Signs and records release N+1 of the channel; the channel's unfinished releases are superseded. */
async function insertRelease(n: NewRelease): Promise<ReleaseRow> {
  const { version, variants } = await getModelVersion(n.actor, n.versionId);
  const chosen = new Map<string, (typeof variants)[number]>();
  for (const v of variants) if (v.selected && !chosen.has(v.device)) chosen.set(v.device, v);
  if (!chosen.size) throw new DomainError('invalid_request', `Model '${version.name}' has no variant chosen for any device profile, so there is nothing to release.`, { param: 'model' });
  const targets: ReleaseTarget[] = [...chosen.values()].map((v) => ({
    profile: v.device,
    sha256: v.sha256,
    sizeBytes: v.sizeBytes,
    custom: {
      model: version.name,
      model_version: version.version,
      model_version_id: version.id,
      variant_id: v.id,
      device_profile: v.device,
      quantization: v.quantization,
      measured_on_pool: v.pool,
      metrics: v.metrics,
    },
  }));
  for (let attempt = 1; ; attempt++) {
    const [last] = await db()
      .select({ seq: schema.fleetReleases.seq })
      .from(schema.fleetReleases)
      .where(and(eq(schema.fleetReleases.fleetId, n.fleet.id), eq(schema.fleetReleases.channel, n.channel)))
      .orderBy(desc(schema.fleetReleases.seq))
      .limit(1);
    const seq = (last?.seq ?? 0) + 1;
    if (seq > MAX_SEQ) throw new DomainError('conflict', `Channel '${n.channel}' has had ${MAX_SEQ} releases, the most one channel can hold; release on a new channel.`, { param: 'channel' });
    const id = newId('release');
    const signed = await signRelease(n.fleet, seq, targets.map((t) => ({ ...t, custom: { ...t.custom, release_id: id } })));
    try {
      const inserted = await db().transaction(async (tx) => {
        await tx
          .update(schema.fleetReleases)
          .set({ state: 'superseded', stateReason: `superseded by release ${seq}` })
          .where(and(eq(schema.fleetReleases.fleetId, n.fleet.id), eq(schema.fleetReleases.channel, n.channel), sql`${schema.fleetReleases.state} not in ('complete', 'superseded', 'rolled_back')`));
        const [row] = await tx
          .insert(schema.fleetReleases)
          .values({
            id, orgId: n.fleet.orgId, fleetId: n.fleet.id, channel: n.channel, seq, modelVersionId: version.id, modelName: version.name,
            steps: n.steps, stepIndex: 0, percent: n.steps[0], state: n.steps[0] === 100 ? 'complete' : 'rolling',
            soakMinutes: n.soakMinutes, failureThreshold: n.failureThreshold, minReports: n.minReports, rollbackOf: n.rollbackOf,
            targetsBody: signed.targetsBody, snapshotBody: signed.snapshotBody, createdBy: n.actor.userId,
          })
          .returning();
        await tx.insert(schema.fleetReleaseTargets).values(
          targets.map((t) => ({ releaseId: id, orgId: n.fleet.orgId, fleetId: n.fleet.id, profile: t.profile, variantId: String(t.custom.variant_id), sha256: t.sha256, sizeBytes: t.sizeBytes })),
        );
        await recordAudit(n.actor, { action: n.action, targetType: 'release', targetId: id, data: { fleet: n.fleet.name, channel: n.channel, seq, model: version.name, steps: n.steps, rollbackOf: n.rollbackOf } }, tx);
        return row;
      });
      fleetChanged(n.fleet.id);
      return inserted;
    } catch (e) {
      // Two releases to one channel at once: the unique (fleet, channel, seq) index refuses one, which signs again as N+2.
      if (attempt < 5 && isUniqueViolation(e, 'fleet_releases_seq')) continue;
      throw e;
    }
  }
}

export async function createRelease(caller: Caller, fleetId: string, body: unknown): Promise<ReleaseView> {
  authorize(caller, 'manage_fleets');
  const fleet = await findOwned(caller, schema.fleets, fleetId, 'fleet');
  const input = parseInput(createReleaseSchema, body);
  const row = await insertRelease({
    fleet, channel: input.channel, versionId: input.model, steps: rolloutSteps(input), soakMinutes: input.soak_minutes,
    failureThreshold: input.failure_threshold, minReports: input.min_reports, rollbackOf: null, actor: caller, action: 'fleet.release_created',
  });
  return (await views([row]))[0];
}

function refuseFinal(r: ReleaseRow, what: string): void {
  if (FINAL_STATES.includes(r.state)) throw new DomainError('conflict', `Release ${r.seq} on '${r.channel}' is ${r.state.replace('_', ' ')}; it cannot be ${what}.`, { param: 'release_id' });
}

type Transition = { set: Partial<typeof schema.fleetReleases.$inferInsert>; action: 'fleet.release_advanced' | 'fleet.release_paused' | 'fleet.release_resumed' | 'fleet.release_halted'; reason?: string };

/** Applies a transition if the release is still in the state it was read in (a concurrent change wins). */
async function transition(actor: Caller | AuditActor, release: ReleaseRow, t: Transition): Promise<ReleaseRow> {
  const changed = await db().transaction(async (tx) => {
    const [row] = await tx
      .update(schema.fleetReleases)
      .set(t.set)
      .where(and(eq(schema.fleetReleases.id, release.id), eq(schema.fleetReleases.state, release.state), eq(schema.fleetReleases.stepIndex, release.stepIndex)))
      .returning();
    if (!row) throw new DomainError('conflict', `Release ${release.seq} changed while this request ran; reload and try again.`, { param: 'release_id' });
    await recordAudit(actor, { action: t.action, targetType: 'release', targetId: release.id, data: { seq: release.seq, channel: release.channel, from: { state: release.state, percent: release.percent }, to: { state: row.state, percent: row.percent }, reason: t.reason ?? null } }, tx);
    return row;
  });
  fleetChanged(release.fleetId);
  return changed;
}

function nextStep(r: ReleaseRow, reason: string): Transition {
  const stepIndex = r.stepIndex + 1;
  const percent = r.steps[stepIndex];
  return { set: { stepIndex, percent, state: percent === 100 ? 'complete' : 'rolling', stepStartedAt: new Date(), stateReason: reason }, action: 'fleet.release_advanced', reason };
}

export async function advanceRelease(caller: Caller, fleetId: string, releaseId: string): Promise<ReleaseView> {
  authorize(caller, 'manage_fleets');
  const { release } = await ownedRelease(caller, fleetId, releaseId);
  refuseFinal(release, 'advanced');
  if (release.state === 'halted') throw new DomainError('conflict', `Release ${release.seq} halted (${release.stateReason}); resume it first or roll it back.`, { param: 'release_id' });
  return (await views([await transition(caller, release, nextStep(release, 'advanced by hand'))]))[0];
}

export async function pauseRelease(caller: Caller, fleetId: string, releaseId: string): Promise<ReleaseView> {
  authorize(caller, 'manage_fleets');
  const { release } = await ownedRelease(caller, fleetId, releaseId);
  refuseFinal(release, 'paused');
  if (release.state !== 'rolling') throw new DomainError('conflict', `Release ${release.seq} is ${release.state}, not rolling.`, { param: 'release_id' });
  return (await views([await transition(caller, release, { set: { state: 'paused', stateReason: 'paused by hand' }, action: 'fleet.release_paused' })]))[0];
}

/** Resumes a paused or halted release at its current step; the soak time starts again. */
export async function resumeRelease(caller: Caller, fleetId: string, releaseId: string): Promise<ReleaseView> {
  authorize(caller, 'manage_fleets');
  const { release } = await ownedRelease(caller, fleetId, releaseId);
  refuseFinal(release, 'resumed');
  if (release.state === 'rolling') throw new DomainError('conflict', `Release ${release.seq} is already rolling.`, { param: 'release_id' });
  return (await views([await transition(caller, release, { set: { state: 'rolling', stepStartedAt: new Date(), stateReason: 'resumed by hand' }, action: 'fleet.release_resumed' })]))[0];
}

/**
 * Rolls a release back: a new release (higher metadata versions) of the model the channel had
 * before it, to every device at once. The undone release is marked rolled back.
 */
export async function rollbackRelease(caller: Caller, fleetId: string, releaseId: string): Promise<ReleaseView> {
  authorize(caller, 'manage_fleets');
  const { fleet, release } = await ownedRelease(caller, fleetId, releaseId);
  if (release.state === 'rolled_back') throw new DomainError('conflict', `Release ${release.seq} is already rolled back.`, { param: 'release_id' });
  const [newest] = await db()
    .select({ seq: schema.fleetReleases.seq })
    .from(schema.fleetReleases)
    .where(and(eq(schema.fleetReleases.fleetId, fleet.id), eq(schema.fleetReleases.channel, release.channel)))
    .orderBy(desc(schema.fleetReleases.seq))
    .limit(1);
  if (newest && newest.seq !== release.seq) {
    throw new DomainError('conflict', `Release ${release.seq} is no longer what '${release.channel}' serves (release ${newest.seq} is); roll back release ${newest.seq} instead.`, { param: 'release_id' });
  }
  const [previous] = await db()
    .select()
    .from(schema.fleetReleases)
    .where(and(eq(schema.fleetReleases.fleetId, fleet.id), eq(schema.fleetReleases.channel, release.channel), sql`${schema.fleetReleases.seq} < ${release.seq}`, ne(schema.fleetReleases.modelVersionId, release.modelVersionId)))
    .orderBy(desc(schema.fleetReleases.seq))
    .limit(1);
  if (!previous) throw new DomainError('conflict', `Release ${release.seq} is the first of another model on '${release.channel}': there is nothing to roll back to. Pause it instead.`, { param: 'release_id' });
  const row = await insertRelease({
    fleet, channel: release.channel, versionId: previous.modelVersionId, steps: [100], soakMinutes: null, failureThreshold: release.failureThreshold,
    minReports: release.minReports, rollbackOf: release.id, actor: caller, action: 'fleet.release_rolled_back',
  });
  await db().update(schema.fleetReleases).set({ state: 'rolled_back', stateReason: `rolled back by release ${row.seq}` }).where(eq(schema.fleetReleases.id, release.id));
  fleetChanged(release.fleetId);
  return (await views([row]))[0];
}

const system = (r: ReleaseRow): AuditActor => ({ orgId: r.orgId, userId: null, label: 'rollout controller' });

/** Halts a rolling or paused release whose step (of the reporting device) failed too often. */
export async function judgeStep(releaseId: string, bucket: number): Promise<void> {
  const [release] = await db().select().from(schema.fleetReleases).where(eq(schema.fleetReleases.id, releaseId)).limit(1);
  if (!release || (release.state !== 'rolling' && release.state !== 'paused')) return;
  const step = stepOfBucket(release.steps, bucket);
  if (step < 0) return;
  const s = (await stepStats(release))[step];
  if (s.reports >= release.minReports && s.failureRate !== null && s.failureRate > release.failureThreshold) {
    const reason = `step ${step + 1} (${s.percent} %): ${s.failures} of ${s.reports} devices failed (${Math.round(s.failureRate * 100)} % > ${Math.round(release.failureThreshold * 100)} %)`;
    await transition(system(release), release, { set: { state: 'halted', stateReason: reason }, action: 'fleet.release_halted', reason }).catch((e) => {
      if (!(e instanceof DomainError && e.code === 'conflict')) throw e;
    });
  }
}

/**
 * Advances every rolling release whose soak time is over and whose current step is healthy (or
 * empty); a step with too few reports waits. Run periodically (the orchestrator's keeper).
 */
export async function advanceDueRollouts(now = new Date()): Promise<number> {
  const due = await db()
    .select()
    .from(schema.fleetReleases)
    .where(and(eq(schema.fleetReleases.state, 'rolling'), sql`${schema.fleetReleases.soakMinutes} is not null`, sql`${schema.fleetReleases.stepStartedAt} + ${schema.fleetReleases.soakMinutes} * interval '1 minute' <= ${now}`))
    .limit(500);
  let advanced = 0;
  for (const r of due) {
    const s = (await stepStats(r))[r.stepIndex];
    const healthy = s.devices === 0 || (s.reports >= r.minReports && (s.failureRate ?? 0) <= r.failureThreshold);
    if (!healthy) continue;
    const reason = s.devices === 0 ? `soaked ${r.soakMinutes} min; no devices in the step` : `soaked ${r.soakMinutes} min; ${s.failures} of ${s.reports} failed`;
    try {
      await transition(system(r), r, nextStep(r, reason));
      advanced++;
    } catch (e) {
      if (!(e instanceof DomainError && e.code === 'conflict')) throw e;
    }
  }
  return advanced;
}

/** The release a device is served: the newest of its channel that covers its bucket. */
export async function servedRelease(device: { fleetId: string; channel: string; bucket: number }): Promise<ReleaseRow | null> {
  const [row] = await db()
    .select()
    .from(schema.fleetReleases)
    .where(and(eq(schema.fleetReleases.fleetId, device.fleetId), eq(schema.fleetReleases.channel, device.channel), sql`${schema.fleetReleases.percent} > ${device.bucket}`))
    .orderBy(desc(schema.fleetReleases.seq))
    .limit(1);
  return row ?? null;
}
