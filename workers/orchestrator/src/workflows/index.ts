/**
 * fineTuneJob: validate → train → evaluate → export GGUF → per device (child workflow):
 * quantize → benchmark → select → publish → meter. Deterministic code only: all I/O is in
 * activities, only ids and storage keys travel through here, and Date.now() is workflow time
 * (replayed identically).
 */
import {
  ActivityCancellationType,
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
import { taskQueues, workflowIds, type FineTuneJobInput, type RegisterPoolInput } from '@edgetune/temporal/queues';
import type * as activities from '../activities/index';
import type { CandidateResult } from '@edgetune/api/pipeline';
import type { JobPlan } from '../activities/plan';
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

/** The trainer's activities, by their (Python) names. */
interface TrainerActivities {
  'trainer.validate_dataset'(input: ValidateDatasetInput): Promise<ValidateDatasetOutput>;
  'trainer.train'(input: TrainInput): Promise<TrainOutput>;
  'trainer.evaluate'(input: EvaluateInput): Promise<EvaluateOutput>;
  'trainer.export_gguf'(input: ExportGgufInput): Promise<ExportGgufOutput>;
}

function trainer(pool: string, startToCloseTimeout: string): TrainerActivities {
  return proxyActivities<TrainerActivities>({
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
  const event = (message: string, dedupeKey: string, data: Record<string, unknown> | null = null, level: 'info' | 'warn' | 'error' = 'info') =>
    db.recordEvents({ ...ref, events: [{ message, dedupeKey, data, level, at: Date.now() }] });

  try {
    await event('Validating training file', 'validate-start');
    const plan: JobPlan = await db.loadJobPlan(ref);
    const short = trainer(plan.trainPool, '6 hours');
    const long = trainer(plan.trainPool, '48 hours');
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
      const v = await short['trainer.validate_dataset']({
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
        `Dataset validated with ${plan.baseModel.id}'s tokenizer: ${v.trainExamples} training and ${v.evalExamples} evaluation ${dpo ? 'preference pairs' : 'examples'}, ${v.trainTokens} training tokens (longest ${v.maxTokens})` +
          (prepared.heldOutFromTraining ? '; evaluation examples held out from the training file' : ''),
        'validate-done',
        { train_examples: v.trainExamples, eval_examples: v.evalExamples, train_tokens: v.trainTokens, max_tokens: v.maxTokens },
      );
      return prepared;
    });

    await db.setJobStatus({ ...ref, status: 'queued', at: Date.now() });
    await event(`Queued for training on pool ${plan.trainPool}`, 'queued');

    const trained = await stage('train', async () => {
      const trackScope = new CancellationScope();
      const tracking = trackScope.run(() => tracker.trackTraining(ref)).catch((e: unknown) => {
        // Progress events are a view; a tracker failure must not fail the training itself.
        if (!isCancellation(e)) log.warn('training tracker failed', { error: String(e) });
      });
      try {
        return await long['trainer.train']({
          jobId: ref.jobId,
          baseModel: plan.baseModel,
          trainKey: data.trainKey,
          hyperparameters: plan.hyperparameters,
          outputPrefix: `${plan.prefix}/train`,
        });
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
        },
      },
    });
    await event(
      `Training${dpo ? ' (DPO)' : ''} finished: ${trained.steps} steps, final loss ${trained.finalLoss.toFixed(4)}, ${Math.round(trained.tokensPerSecond)} tokens/s` +
        (trained.resumedFromStep > 0 ? ` (resumed from step ${trained.resumedFromStep})` : ''),
      'train-done',
    );

    const evaluation = await stage('evaluate', () =>
      short['trainer.evaluate']({
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
        },
      },
    });
    await event(
      `Evaluation on ${evaluation.examples} held-out ${dpo ? 'preference pairs' : 'examples'}: ${dpo ? 'DPO ' : ''}loss ${evaluation.loss.toFixed(4)}` +
        (evaluation.rewardAccuracy !== undefined
          ? `, reward accuracy ${(evaluation.rewardAccuracy * 100).toFixed(1)} % (margin ${(evaluation.rewardMargin ?? 0).toFixed(3)})`
          : '') +
        `, token accuracy ${(evaluation.tokenAccuracy * 100).toFixed(1)} %, task accuracy ${(evaluation.taskAccuracy * 100).toFixed(1)} % (base model: ${(evaluation.baseTaskAccuracy * 100).toFixed(1)} %)`,
      'evaluate-done',
      { ...evaluation },
    );

    const exported = await stage('export', () =>
      short['trainer.export_gguf']({
        jobId: ref.jobId,
        baseModel: plan.baseModel,
        trainedPrefix: trained.trainedPrefix,
        method: trained.method,
        outputPrefix: `${plan.prefix}/export`,
      }),
    );
    await event(`Merged and exported GGUF F16 (${exported.sizeBytes} bytes, llama.cpp ${exported.llamaCppVersion})`, 'export-done');

    const devices = await Promise.all(
      plan.targets.map((target) =>
        executeChild(deviceCandidates, {
          workflowId: workflowIds.deviceCandidates(ref.jobId, target.device),
          args: [{ ...ref, device: target.device, pool: target.pool, quantizations: target.quantizations, budget: target.budget, sourceKey: exported.ggufKey, evalKey: data.chatEvalKey ?? data.evalKey, outputPrefix: `${plan.prefix}/devices/${target.device}` }],
        }),
      ),
    );

    const published = await stage('publish', () =>
      db.publishVersion({ ...ref, evaluation, llamaCppVersion: exported.llamaCppVersion, devices, createdAt: Date.now() }),
    );
    await db.meterJob({ ...ref, usage: { training_tokens: trained.trainTokens, training_seconds: trained.durationS } });
    await event(`Published ${published.name} (version ${published.version}) with ${devices.reduce((n, d) => n + d.candidates.length, 0)} variants`, 'published', { model: published.name });
    await db.setJobStatus({ ...ref, status: 'succeeded', fineTunedModel: published.name, at: Date.now() });
    await event('The job has successfully completed', 'succeeded');
    return { fineTunedModel: published.name };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        await db.closeOpenStages({ ...ref, state: 'cancelled', at: Date.now() });
        await db.setJobStatus({ ...ref, status: 'cancelled', at: Date.now() });
        await event(`The job was cancelled${currentStage ? ` during ${currentStage}` : ''}`, 'cancelled');
      });
      throw err;
    }
    const failure = describeFailure(err);
    await db.closeOpenStages({ ...ref, state: 'failed', at: Date.now() });
    await db.setJobStatus({ ...ref, status: 'failed', error: { code: failure.code, message: failure.message, param: failure.param }, at: Date.now() });
    await event(`The job failed${currentStage ? ` during ${currentStage}` : ''}: ${failure.message}`, 'failed', null, 'error');
    throw ApplicationFailure.nonRetryable(failure.message, failure.code);
  }
}

function describeFailure(err: unknown): { code: string; message: string; param: string | null } {
  // Activity failures wrap the real error as `cause`: report the innermost message, and a
  // dataset problem anywhere in the chain as OpenAI's invalid_training_file.
  type Failure = { message?: string; cause?: unknown; type?: string };
  let innermost = err as Failure;
  let dataset = false;
  for (let e = err as Failure | undefined; e; e = e.cause as Failure | undefined) {
    dataset ||= e.type === 'DatasetError';
    innermost = e;
  }
  return dataset
    ? { code: 'invalid_training_file', message: innermost.message ?? String(err), param: 'training_file' }
    : { code: 'internal_error', message: innermost.message ?? String(err), param: null };
}

export interface DeviceCandidatesInput {
  jobId: string;
  orgId: string;
  device: string;
  pool: string;
  quantizations: Quantization[];
  budget: { maxSizeBytes: number; maxPeakRssBytes: number };
  sourceKey: string;
  evalKey: string;
  outputPrefix: string;
}

/** One target device: quantize each candidate, benchmark it on that device's pool, select one. */
export async function deviceCandidates(input: DeviceCandidatesInput) {
  const ref = { jobId: input.jobId, orgId: input.orgId };
  const agent = proxyActivities<{
    quantize(i: QuantizeInput): Promise<QuantizeOutput>;
    benchmark(i: BenchmarkInput): Promise<BenchmarkOutput>;
  }>({
    taskQueue: taskQueues.device(input.pool),
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '5s', maximumAttempts: 3 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const stage = <T>(name: string, variant: string, fn: () => Promise<T>): Promise<T> => inStage(ref, { stage: name, device: input.device, variant }, fn);

  const candidates: CandidateResult[] = [];
  for (const quantization of input.quantizations) {
    const q = await stage('quantize', quantization, () =>
      agent.quantize({ jobId: input.jobId, device: input.device, sourceKey: input.sourceKey, quantization, outputPrefix: input.outputPrefix }),
    );
    const b = await stage('benchmark', quantization, () =>
      agent.benchmark({ jobId: input.jobId, device: input.device, modelKey: q.key, evalKey: input.evalKey, maxNewTokens: 32 }),
    );
    await db.recordEvents({
      ...ref,
      events: [
        {
          message: `${input.device} ${quantization}: ${(q.sizeBytes / 1e6).toFixed(1)} MB, prefill ${b.prefillTokensPerSecond.toFixed(0)} tok/s, decode ${b.decodeTokensPerSecond.toFixed(0)} tok/s, TTFT ${b.timeToFirstTokenMs.toFixed(0)} ms, peak RSS ${(b.peakRssBytes / 1e6).toFixed(0)} MB, task accuracy ${(b.taskAccuracy * 100).toFixed(1)} % (measured on ${b.fingerprint.cpuModel})`,
          dedupeKey: `bench-${input.device}-${quantization}`,
          type: 'metrics',
          data: { device: input.device, quantization, size_bytes: q.sizeBytes, ...b },
          at: Date.now(),
        },
      ],
    });
    candidates.push({ quantization, key: q.key, sizeBytes: q.sizeBytes, sha256: q.sha256, benchmark: b });
  }

  const choice = await stage('select', '', async () => selectVariant(candidates, input.budget));
  if (!choice) {
    throw ApplicationFailure.nonRetryable(`no quantization of the model fits the budgets of ${input.device}`, 'BudgetError');
  }
  await db.recordEvents({
    ...ref,
    events: [{ message: `Selected ${choice.selected} for ${input.device}: ${choice.reason}`, dedupeKey: `select-${input.device}`, at: Date.now() }],
  });
  return { device: input.device, pool: input.pool, candidates, selected: choice.selected };
}

/** A hardware pool announces itself; the row's last_seen_at is its liveness for the portal. */
export async function registerPool(input: RegisterPoolInput): Promise<void> {
  await db.upsertPool(input);
}
