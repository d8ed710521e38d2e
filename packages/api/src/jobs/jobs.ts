import { randomInt } from 'node:crypto';
import { asc, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import {
  createJobSchema,
  DomainError,
  findBaseModel,
  findDeviceProfile,
  jobSettings,
  newId,
  quantizations,
  terminalStatuses,
  type Budgets,
  type CreateJobInput,
  type JobBudgets,
  type JobStatus,
  type Quantization,
  type StoredMemoryPlan,
  type TrainingObjective,
} from '@edgetune/contracts';
import { loadConfig } from '@edgetune/config';
import { db, schema } from '@edgetune/db';
import { taskQueues, temporalClient, workflowIds, workflowTypes, type FineTuneJobInput } from '@edgetune/temporal';
import { authorize, findOwned, newestFirstAfter, notFoundError, orgScope, pageLimit, toPage, type Caller } from '../tenant';
import { recordAudit } from '../identity/audit';
import { planJobMemory } from './memory';
import { describePollers, freshPollers, onlineDevicePools, type PollerInfo } from '../devices/devices';
import { visiblePoolRow } from '../pools/pools';
import { parseInput, zodToDomain } from '../errors';

export { parseInput, zodToDomain };
import { findLiveFile, type FileRow } from '../datasets/files';
import { variantsOf } from '../models/models';
import { lockOrgBilling } from '../billing/account';
import { jobCost, type JobCost } from '../billing/costs';
import { assertJobFits, estimatePlan, type JobCostEstimate } from '../billing/estimate';

export type JobRow = typeof schema.jobs.$inferSelect;
export type StageRow = typeof schema.jobStages.$inferSelect;
export type EventRow = typeof schema.jobEvents.$inferSelect;
export type VersionRow = typeof schema.modelVersions.$inferSelect;
export type VariantRow = typeof schema.modelVariants.$inferSelect;

export interface JobDetail {
  job: JobRow;
  stages: StageRow[];
  version: VersionRow | null;
  variants: VariantRow[];
}

/** Picks the device profiles of a job; empty/absent = every profile an online pool serves. */
async function resolveTargetDevices(requested: string[] | undefined): Promise<string[]> {
  for (const d of requested ?? []) {
    if (!findDeviceProfile(d)) {
      throw new DomainError('invalid_request', `Unknown target device '${d}'. See GET /api/v1/devices for the catalog.`, { param: 'target_devices' });
    }
  }
  const online = await onlineDevicePools();
  const served = new Set(online.flatMap((p) => p.profiles));
  if (requested && requested.length) {
    const unique = [...new Set(requested)];
    const offline = unique.filter((d) => !served.has(d));
    if (offline.length) {
      throw new DomainError(
        'invalid_request',
        `No online hardware pool serves target device${offline.length > 1 ? 's' : ''} ${offline.map((d) => `'${d}'`).join(', ')}; choose from: ${[...served].join(', ') || '(none online)'}.`,
        { param: 'target_devices' },
      );
    }
    return unique;
  }
  if (served.size === 0) {
    throw new DomainError('invalid_request', 'No hardware pool is online to quantize and benchmark on; start a device agent and try again.', {
      param: 'target_devices',
    });
  }
  return [...served].filter((d) => findDeviceProfile(d)).sort();
}


/** A named training pool must have a trainer polling its queue now; else 400 naming it. */
async function requireTrainingPool(pool: string): Promise<string> {
  const pollers = freshPollers(await describePollers(taskQueues.train(pool), 'activity').catch((): PollerInfo[] => []));
  if (!pollers.length) {
    throw new DomainError('invalid_request', `No trainer is online in training pool '${pool}' (queue ${taskQueues.train(pool)}); leave training_pool out for the default pool.`, {
      param: 'training_pool',
    });
  }
  return pool;
}

/**
 * The quantizations a job narrows its devices' candidates to, in catalog order. Every target
 * device must keep at least one candidate: a device left with none could never ship a variant.
 */
function narrowQuantizations(requested: Quantization[], devices: string[]): Quantization[] {
  const wanted = new Set(requested);
  for (const d of devices) {
    const profile = findDeviceProfile(d)!;
    if (!profile.quantizations.some((q) => wanted.has(q))) {
      throw new DomainError(
        'invalid_request',
        `None of the quantizations ${[...wanted].join(', ')} is a candidate of target device '${d}' (its candidates: ${profile.quantizations.join(', ')}).`,
        { param: 'quantizations' },
      );
    }
  }
  return quantizations.filter((q) => wanted.has(q));
}

/**
 * The devices and pools of a job. Without `target_pools`, each device goes to an online platform
 * pool. With them, each device is measured on every named pool that serves it; a named pool no
 * agent has joined yet may serve any device (its tasks wait for an agent, then fail saying so).
 */
async function resolveTargets(caller: Caller, devices: string[] | undefined, pools: string[] | undefined): Promise<{ targetDevices: string[]; targetPools: string[] }> {
  if (!pools || pools.length === 0) return { targetDevices: await resolveTargetDevices(devices), targetPools: [] };
  for (const d of devices ?? []) {
    if (!findDeviceProfile(d)) throw new DomainError('invalid_request', `Unknown target device '${d}'. See GET /api/v1/devices for the catalog.`, { param: 'target_devices' });
  }
  const rows: NonNullable<Awaited<ReturnType<typeof visiblePoolRow>>>[] = [];
  for (const name of [...new Set(pools)]) {
    const row = await visiblePoolRow(caller.orgId, name);
    if (!row || row.kind !== 'device') throw new DomainError('invalid_request', `Unknown pool '${name}'. See GET /api/v1/pools for the pools you can use.`, { param: 'target_pools' });
    if (!rows.some((r) => r.id === row.id)) rows.push(row);
  }
  const label = (r: (typeof rows)[number]) => `'${r.name ?? r.id}'`;
  const targetDevices = devices?.length ? [...new Set(devices)] : [...new Set(rows.flatMap((r) => r.profiles))].sort();
  if (!targetDevices.length) {
    throw new DomainError('invalid_request', `No agent has joined pool ${rows.map(label).join(', ')} yet, so it serves no known device profile: name target_devices.`, { param: 'target_devices' });
  }
  const serves = (r: (typeof rows)[number], d: string) => r.profiles.length === 0 || r.profiles.includes(d);
  for (const d of targetDevices) {
    if (!rows.some((r) => serves(r, d))) {
      const offer = rows.map((r) => `${label(r)} serves ${r.profiles.join(', ')}`).join('; ');
      throw new DomainError('invalid_request', `No pool in target_pools serves target device '${d}' (${offer}).`, { param: 'target_devices' });
    }
  }
  for (const r of rows) {
    if (!targetDevices.some((d) => serves(r, d))) {
      throw new DomainError('invalid_request', `Pool ${label(r)} serves none of the target devices (it serves ${r.profiles.join(', ')}).`, { param: 'target_pools' });
    }
  }
  return { targetDevices, targetPools: rows.map((r) => r.id) };
}

/**
 * The objective follows the data: preference pairs train with DPO, conversations (prompt /
 * completion files are stored as chat) with supervised fine-tuning. Both files of a job must be
 * the same kind, and an objective or beta the caller names must fit.
 */
function resolveObjective(
  training: FileRow,
  validation: FileRow | null,
  hp: { objective?: TrainingObjective; beta?: number },
): TrainingObjective {
  const objective: TrainingObjective = training.format === 'preference' ? 'dpo' : 'sft';
  const kind = (o: TrainingObjective) => (o === 'dpo' ? 'preference pairs (prompt / chosen / rejected)' : 'conversations (chat or prompt/completion)');
  if (validation && (validation.format === 'preference') !== (objective === 'dpo')) {
    throw new DomainError(
      'invalid_request',
      `Validation file '${validation.id}' holds ${kind(validation.format === 'preference' ? 'dpo' : 'sft')}, but training file '${training.id}' holds ${kind(objective)}; both files of a job must be the same kind.`,
      { param: 'validation_file' },
    );
  }
  if (hp.objective !== undefined && hp.objective !== objective) {
    throw new DomainError(
      'invalid_request',
      hp.objective === 'dpo'
        ? `Objective 'dpo' (preference tuning) needs a training file of preference pairs (prompt / chosen / rejected); '${training.id}' holds conversations, which train with 'sft'.`
        : `Objective 'sft' (supervised fine-tuning) needs a training file of conversations (chat or prompt/completion); '${training.id}' holds preference pairs, which train with 'dpo'.`,
      { param: 'hyperparameters.objective' },
    );
  }
  if (hp.beta !== undefined && objective !== 'dpo') {
    throw new DomainError(
      'invalid_request',
      `'beta' only applies to preference tuning (DPO); training file '${training.id}' holds conversations, which train with supervised fine-tuning. Remove 'beta' or use a preference dataset.`,
      { param: 'hyperparameters.beta' },
    );
  }
  return objective;
}

/** The budgets to store: per-target ones must name a target device of the job. */
function jobBudgets(all: Budgets | undefined, targets: Record<string, Budgets> | undefined, targetDevices: string[]): JobBudgets | null {
  for (const d of Object.keys(targets ?? {})) {
    if (!targetDevices.includes(d)) {
      throw new DomainError('invalid_request', `target_budgets names '${d}', which is not a target device of this job (its targets: ${targetDevices.join(', ')}).`, {
        param: `target_budgets.${d}`,
      });
    }
  }
  const some = (b?: Budgets) => b !== undefined && Object.values(b).some((v) => v !== undefined);
  const perTarget = Object.fromEntries(Object.entries(targets ?? {}).filter(([, b]) => some(b)));
  if (!some(all) && Object.keys(perTarget).length === 0) return null;
  return { ...(some(all) ? { all } : {}), ...(Object.keys(perTarget).length ? { targets: perTarget } : {}) };
}

/** A job request checked against the catalog, the caller's files and pools: what it would train. */
interface JobPlan {
  base: NonNullable<ReturnType<typeof findBaseModel>>;
  training: FileRow;
  validationFileId: string | null;
  objective: TrainingObjective;
  targetDevices: string[];
  targetPools: string[];
  trainingPool: string | null;
  quantizations: Quantization[] | null;
  budgets: JobBudgets | null;
  hyperparameters: ReturnType<typeof jobSettings>;
  /** The peak memory on the training pool; null for a model of unknown architecture. */
  memory: StoredMemoryPlan | null;
  suffix: string | null;
  seed: number;
}

async function planJob(caller: Caller, input: CreateJobInput | unknown): Promise<JobPlan> {
  const parsed = createJobSchema.safeParse(input);
  if (!parsed.success) throw zodToDomain(parsed.error);
  const spec = parsed.data;
  const base = findBaseModel(spec.model);
  if (!base) throw new DomainError('invalid_request', `Model '${spec.model}' is not available for fine-tuning.`, { param: 'model' });
  const hp = spec.hyperparameters;
  const method = hp.method ?? base.methods[0];
  if (!base.methods.includes(method)) {
    throw new DomainError('invalid_request', `Model '${base.id}' supports ${base.methods.join(', ')} fine-tuning, not '${method}'.`, { param: 'hyperparameters.method' });
  }
  const training = await findLiveFile(caller, spec.training_file, 'training_file');
  if (training.purpose !== 'fine-tune') {
    throw new DomainError('invalid_request', `File '${training.id}' has purpose '${training.purpose}', expected 'fine-tune'.`, { param: 'training_file' });
  }
  const validation = spec.validation_file ? await findLiveFile(caller, spec.validation_file, 'validation_file') : null;
  const objective = resolveObjective(training, validation, hp);
  const { targetDevices, targetPools } = await resolveTargets(caller, spec.target_devices, spec.target_pools);
  const quantizations = spec.quantizations ? narrowQuantizations(spec.quantizations, targetDevices) : null;
  const budgets = jobBudgets(spec.budgets, spec.target_budgets, targetDevices);
  const trainingPool = spec.training_pool ? await requireTrainingPool(spec.training_pool) : null;
  // Stored complete: what the job trains with no longer depends on the catalog of the day.
  const hyperparameters = jobSettings(base.id, { ...hp, method, objective });
  const memory = await planJobMemory(base, hyperparameters, trainingPool ?? loadConfig().TRAIN_POOL);
  return {
    base,
    training,
    validationFileId: validation?.id ?? null,
    objective,
    targetDevices,
    targetPools,
    trainingPool,
    quantizations,
    budgets,
    hyperparameters,
    memory,
    suffix: spec.suffix ?? null,
    seed: spec.seed ?? randomInt(0, 2 ** 31 - 1),
  };
}

/**
 * What a job would cost before it starts: `POST /jobs/estimate` takes the body of `POST /jobs`.
 * Checks everything creating it checks, then prices the training tokens and says whether the
 * organization's quotas and spending cap let it start.
 */
export async function estimateJob(caller: Caller, input: CreateJobInput | unknown): Promise<JobCostEstimate> {
  authorize(caller, 'train');
  return estimatePlan(caller.orgId, await planJob(caller, input));
}

/** Validates, inserts the job row and starts its workflow; the row is removed if the start fails. */
export async function createJob(caller: Caller, input: CreateJobInput | unknown): Promise<JobDetail> {
  authorize(caller, 'train');
  const plan = await planJob(caller, input);
  const { base, training, validationFileId, objective, targetDevices, targetPools, trainingPool, quantizations, budgets, hyperparameters, memory, suffix, seed } = plan;
  const id = newId('job');
  const workflowId = workflowIds.fineTuneJob(id);
  await db().transaction(async (tx) => {
    // Quotas and the cap are checked and the job inserted under one lock: two launches at once
    // cannot both pass a limit only one of them fits.
    await lockOrgBilling(tx, caller.orgId);
    await assertJobFits(caller.orgId, await estimatePlan(caller.orgId, plan, tx), tx);
    await tx
      .insert(schema.jobs)
      .values({
        id,
        orgId: caller.orgId,
        createdBy: caller.userId,
        baseModel: base.id,
        trainingFileId: training.id,
        validationFileId,
        hyperparameters,
        targetDevices,
        targetPools,
        trainingPool,
        quantizations,
        budgets,
        memoryPlan: memory,
        suffix,
        seed,
        status: 'validating_files' satisfies JobStatus,
        workflowId,
      });
  });
  try {
    const client = await temporalClient();
    const args: [FineTuneJobInput] = [{ jobId: id, orgId: caller.orgId }];
    await client.workflow.start(workflowTypes.fineTuneJob, { taskQueue: taskQueues.orchestrator, workflowId, args });
  } catch (e) {
    await db().delete(schema.jobs).where(orgScope(caller, schema.jobs, eq(schema.jobs.id, id)));
    throw new DomainError('unavailable', `Could not start the fine-tuning workflow: ${(e as Error).message}`);
  }
  await recordAudit(caller, { action: 'job.created', targetType: 'job', targetId: id, data: { model: base.id, trainingFile: training.id, targetDevices, targetPools, objective } });
  return getJob(caller, id);
}

/** The actual cost of a job so far as line items, with its credit. */
export async function getJobCost(caller: Caller, id: string): Promise<JobCost> {
  authorize(caller, 'read');
  const job = await findOwned(caller, schema.jobs, id, 'fine-tuning job');
  return jobCost(caller.orgId, job);
}

export async function listJobs(caller: Caller, opts: { after?: string | null; limit?: number } = {}): Promise<{ data: JobRow[]; hasMore: boolean }> {
  authorize(caller, 'read');
  const limit = pageLimit(opts.limit);
  const cursor = await newestFirstAfter(caller, schema.jobs, opts.after, 'fine-tuning job');
  const rows = await db()
    .select()
    .from(schema.jobs)
    .where(orgScope(caller, schema.jobs, cursor))
    .orderBy(desc(schema.jobs.createdAt), desc(schema.jobs.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}

export async function getJob(caller: Caller, id: string): Promise<JobDetail> {
  authorize(caller, 'read');
  const job = await findOwned(caller, schema.jobs, id, 'fine-tuning job');
  const stages = await db()
    .select()
    .from(schema.jobStages)
    .where(orgScope(caller, schema.jobStages, eq(schema.jobStages.jobId, id)))
    .orderBy(asc(schema.jobStages.startedAt));
  const [version] = await db()
    .select()
    .from(schema.modelVersions)
    .where(orgScope(caller, schema.modelVersions, eq(schema.modelVersions.jobId, id)))
    .limit(1);
  const variants = version ? await variantsOf(caller, [version.id]) : [];
  return { job, stages, version: version ?? null, variants };
}

/** Versions (by job) for a page of jobs, to fill fine_tuned_model etc. without N queries. */
export async function versionsForJobs(caller: Caller, jobIds: string[]): Promise<Map<string, VersionRow>> {
  if (!jobIds.length) return new Map();
  const rows = await db()
    .select()
    .from(schema.modelVersions)
    .where(orgScope(caller, schema.modelVersions, inArray(schema.modelVersions.jobId, jobIds)));
  return new Map(rows.map((r) => [r.jobId, r]));
}

export async function listJobEvents(
  caller: Caller,
  jobId: string,
  opts: { after?: string | null; limit?: number } = {},
): Promise<{ data: EventRow[]; hasMore: boolean }> {
  authorize(caller, 'read');
  await findOwned(caller, schema.jobs, jobId, 'fine-tuning job');
  const limit = pageLimit(opts.limit, 20, 1000);
  let cursor;
  if (opts.after) {
    const [a] = await db()
      .select({ seq: schema.jobEvents.seq })
      .from(schema.jobEvents)
      .where(orgScope(caller, schema.jobEvents, eq(schema.jobEvents.jobId, jobId), eq(schema.jobEvents.id, opts.after)))
      .limit(1);
    if (!a) throw notFoundError('event', opts.after, 'after');
    cursor = gt(schema.jobEvents.seq, a.seq);
  }
  const rows = await db()
    .select()
    .from(schema.jobEvents)
    .where(orgScope(caller, schema.jobEvents, eq(schema.jobEvents.jobId, jobId), cursor))
    .orderBy(asc(schema.jobEvents.seq))
    .limit(limit + 1);
  return toPage(rows, limit);
}

/** The training loss the job reported at each of `steps` (its progress events); the caller scoped the job. */
export async function lossesAtSteps(caller: Caller, jobId: string, steps: number[]): Promise<Map<number, number>> {
  if (!steps.length) return new Map();
  const rows = await db()
    .select({ data: schema.jobEvents.data })
    .from(schema.jobEvents)
    .where(
      orgScope(
        caller,
        schema.jobEvents,
        eq(schema.jobEvents.jobId, jobId),
        sql`${schema.jobEvents.data}->>'kind' = 'training_step'`,
        inArray(sql`(${schema.jobEvents.data}->>'step')::int`, steps),
      ),
    );
  const out = new Map<number, number>();
  for (const { data } of rows) {
    const d = data as { step?: unknown; train_loss?: unknown } | null;
    if (typeof d?.step === 'number' && typeof d.train_loss === 'number') out.set(d.step, d.train_loss);
  }
  return out;
}

/** Requests cancellation of the job's workflow; the workflow records the final status. */
export async function cancelJob(caller: Caller, id: string): Promise<JobDetail> {
  authorize(caller, 'train');
  const job = await findOwned(caller, schema.jobs, id, 'fine-tuning job');
  if ((terminalStatuses as readonly string[]).includes(job.status)) {
    throw new DomainError('conflict', `Job '${id}' has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}; it cannot be cancelled.`, { param: 'id' });
  }
  try {
    const client = await temporalClient();
    await client.workflow.getHandle(job.workflowId).cancel();
  } catch (e) {
    const name = (e as Error)?.name ?? '';
    if (name === 'WorkflowNotFoundError' || /not found/i.test((e as Error)?.message ?? '')) {
      // Nothing is running for it any more: record the cancellation here.
      await db()
        .update(schema.jobs)
        .set({ status: 'cancelled', finishedAt: new Date() })
        .where(orgScope(caller, schema.jobs, eq(schema.jobs.id, id)));
    } else {
      throw new DomainError('unavailable', `Could not cancel the job's workflow: ${(e as Error).message}`);
    }
  }
  await recordAudit(caller, { action: 'job.cancelled', targetType: 'job', targetId: id, data: { previousStatus: job.status } });
  return getJob(caller, id);
}
