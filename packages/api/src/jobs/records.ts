/**
 * What the fineTuneJob workflow's activities record about a job as it runs: status, events,
 * stage timings. Every function takes the org id from the workflow input and scopes by it, and
 * every write is idempotent so a retried activity never duplicates anything.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { jobEventLevel, jobEventType, jobResultSchema, newId, terminalStatuses, type JobEventFact, type JobEventLevel, type JobEventType, type JobResult, type JobStatus, type StoredError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { creditPlatformFailure } from '../billing/metering';
import { meterJob } from './usage';

const { jobs, jobEvents, jobStages } = schema;

export interface JobRef {
  jobId: string;
  orgId: string;
}

export async function loadJobRow(ref: JobRef) {
  const row = await db().query.jobs.findFirst({ where: and(eq(jobs.id, ref.jobId), eq(jobs.orgId, ref.orgId)) });
  if (!row) throw new Error(`job ${ref.jobId} not found in org ${ref.orgId}`);
  return row;
}

/** Moves a job to a status; terminal statuses are final and never overwritten. */
export async function setJobStatus(
  ref: JobRef & { status: JobStatus; error?: StoredError | null; fineTunedModel?: string | null; at: number },
): Promise<void> {
  const patch: PgUpdateSetSource<typeof jobs> = { status: ref.status };
  if (ref.status === 'running') patch.startedAt = sql`coalesce(${jobs.startedAt}, ${new Date(ref.at).toISOString()}::timestamptz)`;
  if (terminalStatuses.includes(ref.status)) patch.finishedAt = new Date(ref.at);
  if (ref.error !== undefined) patch.error = ref.error;
  if (ref.fineTunedModel !== undefined) patch.fineTunedModel = ref.fineTunedModel;
  await db()
    .update(jobs)
    .set(patch)
    .where(and(eq(jobs.id, ref.jobId), eq(jobs.orgId, ref.orgId), sql`${jobs.status} not in ('succeeded','failed','cancelled')`));
  if (ref.status === 'failed' || ref.status === 'cancelled') {
    // What a job used before it ended is metered too; a failure that was the platform's is credited.
    // Both are idempotent, so a retried activity (whose first attempt changed the row) does them again safely.
    const [row] = await db().select({ status: jobs.status, error: jobs.error, trainedTokens: jobs.trainedTokens }).from(jobs).where(and(eq(jobs.id, ref.jobId), eq(jobs.orgId, ref.orgId)));
    if (row?.status !== ref.status) return;
    await meterJob({ ...ref, usage: row.trainedTokens ? { training_tokens: row.trainedTokens } : {} });
    if (row.status === 'failed' && row.error) await creditPlatformFailure(ref, row.error.code);
  }
}

/** Adds sections (training, evaluation) to a job's result; checked here, where they arrive from the workflow. */
export async function setJobResult(ref: JobRef & { result: JobResult; trainedTokens?: number }): Promise<void> {
  const result = jobResultSchema.parse(ref.result);
  await db()
    .update(jobs)
    .set({ result: sql`coalesce(${jobs.result}, '{}'::jsonb) || ${JSON.stringify(result)}::jsonb`, ...(ref.trainedTokens !== undefined ? { trainedTokens: ref.trainedTokens } : {}) })
    .where(and(eq(jobs.id, ref.jobId), eq(jobs.orgId, ref.orgId)));
}

/**
 * One event to record. Workflow code records facts (`fact`): their sentence is made when the
 * event is read (describeJobEvent), so wording is never an input of workflow code. A `message`
 * is the form workflow code scheduled before facts existed (still accepted, so activities that
 * running workflows scheduled then complete) and that of the platform's own notes (reconcile).
 */
export type EventInput = (
  | { fact: JobEventFact }
  | { message: string; level?: JobEventLevel; type?: JobEventType; data?: Record<string, unknown> | null }
) & {
  /** Same key = same event: a retried write is a no-op. */
  dedupeKey: string;
  at?: number;
};

export async function recordEvents(ref: JobRef, events: EventInput[]): Promise<void> {
  if (events.length === 0) return;
  await db()
    .insert(jobEvents)
    .values(
      events.map((e) => ({
        id: newId('event'),
        orgId: ref.orgId,
        jobId: ref.jobId,
        ...('fact' in e
          ? { level: jobEventLevel(e.fact), type: jobEventType(e.fact), message: null, data: e.fact }
          : { level: e.level ?? 'info', type: e.type ?? 'message', message: e.message, data: e.data ?? null }),
        dedupeKey: e.dedupeKey,
        createdAt: e.at ? new Date(e.at) : new Date(),
      })),
    )
    .onConflictDoNothing({ target: [jobEvents.jobId, jobEvents.dedupeKey] });
}

export interface StageInput extends JobRef {
  stage: string;
  device?: string;
  variant?: string;
  state: 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** Workflow time (ms) of the transition, so replays and retries record the same instant. */
  at: number;
}

export async function recordStage(s: StageInput): Promise<void> {
  const at = new Date(s.at);
  const key = { jobId: s.jobId, orgId: s.orgId, stage: s.stage, device: s.device ?? '', variant: s.variant ?? '' };
  if (s.state === 'running') {
    await db()
      .insert(jobStages)
      .values({ ...key, state: 'running', startedAt: at })
      .onConflictDoUpdate({
        target: [jobStages.jobId, jobStages.stage, jobStages.device, jobStages.variant],
        set: { state: 'running', startedAt: at, finishedAt: null, durationMs: null },
      });
    return;
  }
  await db()
    .insert(jobStages)
    .values({ ...key, state: s.state, startedAt: at, finishedAt: at, durationMs: 0 })
    .onConflictDoUpdate({
      target: [jobStages.jobId, jobStages.stage, jobStages.device, jobStages.variant],
      set: {
        state: s.state,
        finishedAt: at,
        durationMs: sql`greatest(0, round(extract(epoch from (${at.toISOString()}::timestamptz - ${jobStages.startedAt})) * 1000))::int`,
      },
    });
}

/** Closes every stage still marked running (on failure or cancellation of the job). */
export async function closeOpenStages(ref: JobRef & { state: 'failed' | 'cancelled'; at: number }): Promise<void> {
  const at = new Date(ref.at);
  await db()
    .update(jobStages)
    .set({
      state: ref.state,
      finishedAt: at,
      durationMs: sql`greatest(0, round(extract(epoch from (${at.toISOString()}::timestamptz - ${jobStages.startedAt})) * 1000))::int`,
    })
    .where(and(eq(jobStages.jobId, ref.jobId), eq(jobStages.orgId, ref.orgId), eq(jobStages.state, 'running')));
}
