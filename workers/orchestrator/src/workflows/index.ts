/**
 * fineTuneJob: validate → train → evaluate → export GGUF → per device (child workflow):
 * quantize → benchmark → select → publish → meter. Deterministic code only: all I/O is in
 * activities, only ids and storage keys travel through here, and Date.now() is workflow time
 * (replayed identically).
 */
import {
  ActivityCancellationType,
  type ActivityOptions,
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
} from '@temporalio/workflow';
import type {
  BenchmarkInput,
  BenchmarkOutput,
  EvaluateInput,
  EvaluateOutput,
  ExportGgufInput,
  ExportGgufOutput,
  QuantizeInput,
  QuantizeOutput,
  TrainInput,
  TrainOutput,
  ValidateDatasetInput,
  ValidateDatasetOutput,
  Quantization,
} from '@edgetune/temporal/activities';
import { deviceActivityNames, trainerActivityNames } from '@edgetune/temporal/activities';
import type { JobEventFact } from '@edgetune/contracts';
import { taskQueues, workflowIds, type FineTuneJobInput, type RegisterPoolInput } from '@edgetune/temporal/queues';
import type * as activities from '../activities/index';
import type { CandidateResult } from '@edgetune/api/pipeline';
import type { JobPlan } from '../activities/plan';
import type { Budgets } from '@edgetune/contracts/budget-rules';
import { selectVariant } from './select';

const db = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

const tracker = proxyActivities<typeof activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' }, // unlimited attempts while training runs
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

/**
 * Device activities of an organization pool: they queue a task and complete when the pool's
 * agent reports over HTTPS. Its heartbeats (or the keeper's, while the task waits for an agent)
 * keep the attempt alive; a silent agent times out and the task is retried, possibly elsewhere.
 */
const orgPool = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumAttempts: 3, nonRetryableErrorTypes: ['PoolUnavailable'] },
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

/**
 * Activities another worker serves (the Python trainer, the device agents), called under the
 * names of their one declaration (packages/temporal/activity-names.json), which those workers
 * register from too.
 */
function declared<T>(names: { [K in keyof T]: string }, options: ActivityOptions): T {
  const proxy = proxyActivities<Record<string, (input: unknown) => Promise<unknown>>>(options);
  return Object.fromEntries(Object.entries<string>(names).map(([key, name]) => [key, proxy[name]])) as T;
}

interface TrainerActivities {
  validateDataset(input: ValidateDatasetInput): Promise<ValidateDatasetOutput>;
  train(input: TrainInput): Promise<TrainOutput>;
  evaluate(input: EvaluateInput): Promise<EvaluateOutput>;
  exportGguf(input: ExportGgufInput): Promise<ExportGgufOutput>;
}

interface DeviceActivities {
  quantize(input: QuantizeInput): Promise<QuantizeOutput>;
  benchmark(input: BenchmarkInput): Promise<BenchmarkOutput>;
}

function trainer(pool: string, startToCloseTimeout: string): TrainerActivities {
  return declared<TrainerActivities>(trainerActivityNames, {
    taskQueue: taskQueues.train(pool),
    startToCloseTimeout,
    heartbeatTimeout: '2 minutes',
    retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes: ['DatasetError', 'ValueError'] },
    // The trainer must acknowledge a cancellation, so a cancelled job has really stopped training.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

/** Runs one stage of a job, recording its start, end and duration (in workflow time). */
async function inStage<T>(ref: { jobId: string; orgId: string }, key: { stage: string; device?: string; variant?: string }, fn: () => Promise<T>): Promise<T> {
  await db.recordStage({ ...ref, ...key, state: 'running', at: Date.now() });
  const result = await fn();
  await db.recordStage({ ...ref, ...key, state: 'succeeded', at: Date.now() });
  return result;
}

export interface FineTuneJobResult {
  fineTunedModel: string;
}

export async function fineTuneJob(input: FineTuneJobInput): Promise<FineTuneJobResult> {
  const ref = { jobId: input.jobId, orgId: input.orgId };
  let currentStage: string | null = null;

  const stage = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    currentStage = name;
    return inStage(ref, { stage: name }, fn);
  };
  // Facts only: their sentences are made when read, so rewording one never touches this code.
  const event = (fact: JobEventFact, dedupeKey: string) => db.recordEvents({ ...ref, events: [{ fact, dedupeKey, at: Date.now() }] });

  try {
    await event({ kind: 'validating' }, 'validate-start');
    const plan: JobPlan = await db.loadJobPlan(ref);
    const short = trainer(plan.trainPool, '6 hours');
    const long = trainer(plan.trainPool, '48 hours');
    const grant = plan.storageGrant ? { storageGrant: plan.storageGrant } : {};
    // Plans stored before preference tuning existed carry no objective: those jobs are supervised.
    const dpo = plan.hyperparameters.objective === 'dpo';

    const data = await stage('validate', async () => {
      const prepared = await db.prepareDataset({
        prefix: plan.prefix,
        trainingFileKey: plan.trainingFileKey,
        validationFileKey: plan.validationFileKey,
        seed: plan.seed,
        preference: dpo,
      });
      const v = await short.validateDataset({
        ...grant,
        jobId: ref.jobId,
        baseModel: plan.baseModel,
        trainKey: prepared.trainKey,
        evalKey: prepared.evalKey,
        maxSeqLen: plan.hyperparameters.maxSeqLen,
        objective: plan.hyperparameters.objective,
      });
      if (!v.ok) {
        const first = v.errors[0];
        throw ApplicationFailure.nonRetryable(
          first ? `${first.split} split, line ${first.line}: ${first.message}` : 'the dataset is invalid',
          'DatasetError',
          v.errors.slice(0, 20),
        );
      }
      await event(
        {
          kind: 'dataset_validated',
          base_model: plan.baseModel.id,
          objective: dpo ? 'dpo' : 'sft',
          train_examples: v.trainExamples,
          eval_examples: v.evalExamples,
          train_tokens: v.trainTokens,
          max_tokens: v.maxTokens,
          held_out_from_training: prepared.heldOutFromTraining,
          ...(v.truncatedExamples ? { truncated_examples: v.truncatedExamples, max_seq_len: plan.hyperparameters.maxSeqLen } : {}),
          ...(prepared.heldOutNearDuplicates !== undefined ? { held_out_near_duplicates: prepared.heldOutNearDuplicates } : {}),
        },
        'validate-done',
      );
      return prepared;
    });

    await db.setJobStatus({ ...ref, status: 'queued', at: Date.now() });
    await event({ kind: 'queued', pool: plan.trainPool }, 'queued');

    const trained = await stage('train', async () => {
      const trackScope = new CancellationScope();
      const trainScope = new CancellationScope();
      let capReached: string | null = null;
      const tracking = trackScope
        .run(() => tracker.trackTraining(ref))
        .then((outcome) => {
          // The tracker saw a checkpoint past the spending cap: stop training there.
          if (outcome?.spendingCapReached) {
            capReached = outcome.spendingCapReached;
            trainScope.cancel();
          }
        })
        .catch((e: unknown) => {
          // Progress events are a view; a tracker failure must not fail the training itself.
          if (!isCancellation(e)) log.warn('training tracker failed', { error: String(e) });
        });
      try {
        return await trainScope.run(() =>
          long.train({
            ...grant,
            jobId: ref.jobId,
            baseModel: plan.baseModel,
            trainKey: data.trainKey,
            hyperparameters: plan.hyperparameters,
            outputPrefix: `${plan.prefix}/train`,
          }),
        );
      } catch (e) {
        if (capReached !== null && isCancellation(e)) throw ApplicationFailure.nonRetryable(capReached, 'SpendingCapReached');
        throw e;
      } finally {
        trackScope.cancel();
        await tracking;
      }
    });
    await db.setJobStatus({ ...ref, status: 'running', at: Date.now() }); // in case training finished between tracker polls
    await db.ingestTrainingMetrics({ ...ref, metricsKey: trained.metricsKey });
    await db.setJobResult({
      ...ref,
      trainedTokens: trained.trainTokens,
      result: {
        training: {
          objective: dpo ? 'dpo' : 'sft',
          steps: trained.steps,
          final_loss: trained.finalLoss,
          tokens_per_second: trained.tokensPerSecond,
          duration_s: trained.durationS,
          resumed_from_step: trained.resumedFromStep,
          pool: plan.trainPool,
          ...(trained.checkpoints
            ? {
                checkpoints: trained.checkpoints.map((c) => ({ step: c.step, size_bytes: c.sizeBytes, save_seconds: c.saveSeconds })),
                checkpoint_seconds: trained.checkpointSeconds ?? 0,
              }
            : {}),
          ...(trained.gradientCheckpointing !== undefined ? { gradient_checkpointing: trained.gradientCheckpointing } : {}),
          ...(trained.packing !== undefined ? { packing: trained.packing } : {}),
          ...(trained.hardware
            ? {
                hardware: {
                  device: trained.hardware.device,
                  name: trained.hardware.name,
                  count: trained.hardware.count,
                  bf16: trained.hardware.bf16,
                  peak_memory_bytes: trained.hardware.peakMemoryBytes,
                },
              }
            : {}),
        },
      },
    });
    await event(
      {
        kind: 'training_finished',
        objective: dpo ? 'dpo' : 'sft',
        steps: trained.steps,
        final_loss: trained.finalLoss,
        tokens_per_second: trained.tokensPerSecond,
        resumed_from_step: trained.resumedFromStep,
        ...(trained.hardware ? { hardware: `${trained.hardware.name}${trained.hardware.bf16 ? ' (bf16)' : ''}` } : {}),
      },
      'train-done',
    );

    const evaluation = await stage('evaluate', () =>
      short.evaluate({
        ...grant,
        jobId: ref.jobId,
        baseModel: plan.baseModel,
        trainedPrefix: trained.trainedPrefix,
        method: trained.method,
        ...(dpo ? { objective: 'dpo' as const, beta: plan.hyperparameters.beta } : {}),
        evalKey: data.evalKey,
        maxNewTokens: 32,
      }),
    );
    const preference =
      evaluation.rewardAccuracy !== undefined ? { reward_accuracy: evaluation.rewardAccuracy, reward_margin: evaluation.rewardMargin ?? null } : {};
    await db.setJobResult({
      ...ref,
      result: {
        evaluation: {
          loss: evaluation.loss,
          token_accuracy: evaluation.tokenAccuracy,
          task_accuracy: evaluation.taskAccuracy,
          base_task_accuracy: evaluation.baseTaskAccuracy,
          examples: evaluation.examples,
          ...preference,
          ...(data.heldOutNearDuplicates !== undefined ? { held_out_near_duplicates: data.heldOutNearDuplicates } : {}),
        },
      },
    });
    await event({ kind: 'evaluated', objective: dpo ? 'dpo' : 'sft', ...evaluation }, 'evaluate-done');

    const exported = await stage('export', () =>
      short.exportGguf({
        ...grant,
        jobId: ref.jobId,
        baseModel: plan.baseModel,
        trainedPrefix: trained.trainedPrefix,
        method: trained.method,
        outputPrefix: `${plan.prefix}/export`,
        evalKey: data.chatEvalKey ?? data.evalKey,
      }),
    );
    await event({ kind: 'exported', size_bytes: exported.sizeBytes, llama_cpp_version: exported.llamaCppVersion }, 'export-done');

    const devices = await Promise.all(
      plan.targets.map((target) => {
        // A device measured on several pools gets one child per pool, each writing its own files.
        const multiPool = plan.targets.filter((t) => t.device === target.device).length > 1;
        return executeChild(deviceCandidates, {
          workflowId: workflowIds.deviceCandidates(ref.jobId, target.device, multiPool ? target.pool : undefined),
          args: [
            {
              ...ref,
              device: target.device,
              pool: target.pool,
              // An organization pool's agent gets a URL per object instead, never the grant.
              ...(target.orgPool ? { orgPool: true } : grant),
              ...(multiPool ? { multiPool: true } : {}),
              quantizations: target.quantizations,
              budgets: target.budgets,
              sourceKey: exported.ggufKey,
              ...(data.calibrationKey ? { calibrationKey: data.calibrationKey } : {}),
              ...(exported.promptTokenIds ? { promptTokenIds: exported.promptTokenIds } : {}),
              evalKey: data.chatEvalKey ?? data.evalKey,
              outputPrefix: `${plan.prefix}/devices/${target.device}${multiPool ? `/${target.pool}` : ''}`,
            },
          ],
        });
      }),
    );

    const published = await stage('publish', () =>
      db.publishVersion({ ...ref, evaluation, llamaCppVersion: exported.llamaCppVersion, devices, createdAt: Date.now() }),
    );
    await db.meterJob({ ...ref, usage: { training_tokens: trained.trainTokens, training_seconds: trained.durationS } });
    const variants = devices.reduce((n, d) => n + d.candidates.length, 0);
    await event({ kind: 'published', model: published.name, version: published.version, variants }, 'published');
    await db.setJobStatus({ ...ref, status: 'succeeded', fineTunedModel: published.name, at: Date.now() });
    await event({ kind: 'succeeded' }, 'succeeded');
    return { fineTunedModel: published.name };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        await db.closeOpenStages({ ...ref, state: 'cancelled', at: Date.now() });
        await db.setJobStatus({ ...ref, status: 'cancelled', at: Date.now() });
        await event({ kind: 'cancelled', stage: currentStage }, 'cancelled');
      });
      throw err;
    }
    const failure = describeFailure(err);
    await db.closeOpenStages({ ...ref, state: 'failed', at: Date.now() });
    await db.setJobStatus({ ...ref, status: 'failed', error: { code: failure.code, message: failure.message, param: failure.param }, at: Date.now() });
    await event({ kind: 'failed', stage: currentStage, code: failure.code, error: failure.message }, 'failed');
    throw ApplicationFailure.nonRetryable(failure.message, failure.code);
  }
}

function describeFailure(err: unknown): { code: string; message: string; param: string | null } {
  // Activity failures wrap the real error as `cause`: report the innermost message, and a
  // dataset problem anywhere in the chain as OpenAI's invalid_training_file.
  type Failure = { message?: string; cause?: unknown; type?: string };
  let innermost = err as Failure;
  let dataset = false;
  let budget = false;
  let template = false;
  let capped = false;
  let pool = false;
  for (let e = err as Failure | undefined; e; e = e.cause as Failure | undefined) {
    dataset ||= e.type === 'DatasetError';
    budget ||= e.type === 'BudgetError';
    template ||= e.type === 'TemplateParityError';
    capped ||= e.type === 'SpendingCapReached';
    pool ||= e.type === 'PoolUnavailable';
    innermost = e;
  }
  // The organization's own pool had no agent for it: the customer's hardware, not the platform's.
  if (pool) return { code: 'pool_unavailable', message: innermost.message ?? String(err), param: 'target_pools' };
  if (capped) return { code: 'spending_cap_reached', message: innermost.message ?? String(err), param: 'spending_cap' };
  if (dataset) return { code: 'invalid_training_file', message: innermost.message ?? String(err), param: 'training_file' };
  if (budget) return { code: 'budget_not_met', message: innermost.message ?? String(err), param: 'budgets' };
  if (template) return { code: 'chat_template_mismatch', message: innermost.message ?? String(err), param: null };
  return { code: 'internal_error', message: innermost.message ?? String(err), param: null };
}

export interface DeviceCandidatesInput {
  jobId: string;
  orgId: string;
  device: string;
  pool: string;
  /** An organization pool: its agent works over HTTPS, through asynchronously completed activities. */
  orgPool?: boolean;
  /** The job measures this device on several pools: stage and event keys name the pool. */
  multiPool?: boolean;
  quantizations: Quantization[];
  /** What the selected variant must meet (the profile's defaults, the job's, the target's). */
  budgets?: Budgets;
  /** Children started before budgets existed carry the profile's size and memory defaults only. */
  budget?: { maxSizeBytes: number; maxPeakRssBytes: number };
  sourceKey: string;
  /** Text sampled from the training data: K- and I-quants use its importance matrix (absent in jobs started before). */
  calibrationKey?: string;
  /** The first eval prompt's ids as training rendered it: every benchmark checks the GGUF renders the same. */
  promptTokenIds?: number[];
  evalKey: string;
  outputPrefix: string;
  /** The job's storage grant, for a platform pool's agent (absent for organization pools and in older children). */
  storageGrant?: string;
}

/** One target device: quantize each candidate, benchmark it on that device's pool, select one. */
export async function deviceCandidates(input: DeviceCandidatesInput) {
  const ref = { jobId: input.jobId, orgId: input.orgId };
  const where = { orgId: input.orgId, poolId: input.pool };
  const agent: DeviceActivities = input.orgPool
    ? {
        // The grant never reaches a customer's machine: its agent gets one URL per object.
        quantize: ({ storageGrant: _q, ...q }) => orgPool.poolQuantize({ ...q, ...where }),
        benchmark: ({ storageGrant: _b, ...b }) => orgPool.poolBenchmark({ ...b, ...where }),
      }
    : declared<DeviceActivities>({ quantize: deviceActivityNames.quantize, benchmark: deviceActivityNames.benchmark }, {
        taskQueue: taskQueues.device(input.pool),
        startToCloseTimeout: '2 hours',
        heartbeatTimeout: '1 minute',
        retry: { initialInterval: '5s', maximumAttempts: 3 },
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      });
  const grant = input.storageGrant ? { storageGrant: input.storageGrant } : {};
  const at = input.multiPool ? `@${input.pool}` : '';
  const stage = <T>(name: string, variant: string, fn: () => Promise<T>): Promise<T> => inStage(ref, { stage: name, device: input.device, variant: variant + at }, fn);

  const candidates: CandidateResult[] = [];
  for (const quantization of input.quantizations) {
    const q = await stage('quantize', quantization, () =>
      agent.quantize({
        ...grant,
        jobId: input.jobId,
        device: input.device,
        sourceKey: input.sourceKey,
        quantization,
        outputPrefix: input.outputPrefix,
        ...(input.calibrationKey ? { calibrationKey: input.calibrationKey } : {}),
      }),
    );
    const b = await stage('benchmark', quantization, () =>
      agent.benchmark({
        ...grant,
        jobId: input.jobId,
        device: input.device,
        modelKey: q.key,
        evalKey: input.evalKey,
        maxNewTokens: 32,
        referenceKey: input.sourceKey,
        ...(input.promptTokenIds ? { expectedPromptTokenIds: input.promptTokenIds } : {}),
      }),
    );
    await db.recordEvents({
      ...ref,
      events: [
        {
          fact: { kind: 'variant_benchmarked', device: input.device, quantization, size_bytes: q.sizeBytes, ...b },
          dedupeKey: `bench-${input.device}-${quantization}${at}`,
          at: Date.now(),
        },
      ],
    });
    candidates.push({
      quantization,
      key: q.key,
      sizeBytes: q.sizeBytes,
      sha256: q.sha256,
      benchmark: b,
      ...(q.imatrix ? { imatrix: q.imatrix } : {}),
      ...(q.imatrixSkipped ? { imatrixSkipped: q.imatrixSkipped } : {}),
    });
  }

  const budgets: Budgets = input.budgets ?? { max_size_bytes: input.budget?.maxSizeBytes, max_peak_rss_bytes: input.budget?.maxPeakRssBytes };
  const choice = await stage('select', '', async () => selectVariant(candidates, budgets, input.device + (input.multiPool ? ` on pool ${input.pool}` : '')));
  if (!choice.ok) {
    throw ApplicationFailure.nonRetryable(choice.message, 'BudgetError', choice.rejected);
  }
  await db.recordEvents({
    ...ref,
    events: [
      {
        fact: {
          kind: 'variant_selected',
          device: input.device,
          selected: choice.selected,
          best_task_accuracy: choice.bestTaskAccuracy,
          tolerance: choice.tolerance,
          reason: choice.reason,
          pareto_front: choice.front,
        },
        dedupeKey: `select-${input.device}${at}`,
        at: Date.now(),
      },
    ],
  });
  const selection = { budgets, front: choice.front, dominated: choice.dominated, rejected: choice.rejected, reason: choice.reason };
  return { device: input.device, pool: input.pool, candidates, selected: choice.selected, selection };
}

/** A hardware pool announces itself; the row's last_seen_at is its liveness for the portal. */
export async function registerPool(input: RegisterPoolInput): Promise<void> {
  await db.upsertPool(input);
}
