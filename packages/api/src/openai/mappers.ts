/** Pure mappers between OpenAI's fine-tuning shapes and edgetune's domain. */
import {
  baseModels,
  defaultHyperparameters,
  defaultMethod,
  DomainError,
  errorCodes,
  type CreateJobInput,
  type ErrorCode,
  type TrainingObjective,
} from '@edgetune/contracts';
import { describeJobEvent } from '@edgetune/contracts';
import type { FileRow } from '../datasets/files';
import { readJob, resultNumber, type JobSettings } from '../jobs/job-facts';
import type { EventRow, JobRow, VersionRow } from '../jobs/jobs';

const unix = (d: Date | null | undefined): number | null => (d ? Math.floor(d.getTime() / 1000) : null);

export function toOpenAIFile(f: FileRow) {
  return {
    id: f.id,
    object: 'file' as const,
    bytes: f.bytes,
    created_at: unix(f.createdAt)!,
    expires_at: null,
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed' as const,
    status_details: null,
  };
}

/** A job's settings in OpenAI's words (plus edgetune's). */
function openAIHyperparameters(s: JobSettings) {
  return {
    n_epochs: s.n_epochs,
    batch_size: s.batch_size,
    learning_rate_multiplier: s.learning_rate_multiplier,
    // edgetune extras
    learning_rate: s.learning_rate,
    lora_rank: s.lora_rank,
  };
}

export function toOpenAIJob(job: JobRow, version?: VersionRow | null) {
  const facts = readJob(job, version);
  const { method, objective, beta } = facts.settings;
  const hyperparameters = openAIHyperparameters(facts.settings);
  return {
    id: job.id,
    object: 'fine_tuning.job' as const,
    created_at: unix(job.createdAt)!,
    finished_at: unix(job.finishedAt),
    model: job.baseModel,
    fine_tuned_model: facts.fineTunedModel,
    organization_id: job.orgId,
    status: facts.status,
    error: facts.error,
    hyperparameters,
    training_file: job.trainingFileId,
    validation_file: job.validationFileId,
    trained_tokens: job.trainedTokens ?? null,
    result_files: [] as string[],
    seed: job.seed,
    estimated_finish: null,
    integrations: [] as unknown[],
    metadata: null,
    user_provided_suffix: job.suffix,
    method:
      objective === 'dpo'
        ? { type: 'dpo' as const, dpo: { hyperparameters: { ...hyperparameters, beta } } }
        : { type: 'supervised' as const, supervised: { hyperparameters } },
    // edgetune extras
    training_type: method,
    target_devices: job.targetDevices,
    target_pools: job.targetPools ?? [],
    training_pool: job.trainingPool ?? null,
    quantizations: job.quantizations ?? null,
    budgets: job.budgets?.all ?? null,
    target_budgets: job.budgets?.targets ?? null,
    memory_plan: job.memoryPlan
      ? {
          estimated_peak_bytes: job.memoryPlan.peakBytes,
          gradient_checkpointing: job.memoryPlan.gradientCheckpointing,
          pool_memory_bytes: job.memoryPlan.capacityBytes,
          training_pool: job.memoryPlan.pool,
        }
      : null,
  };
}

export function toOpenAIEvent(e: EventRow) {
  return {
    id: e.id,
    object: 'fine_tuning.job.event' as const,
    created_at: unix(e.createdAt)!,
    level: e.level,
    message: describeJobEvent(e),
    data: e.data ?? {},
    type: e.type,
  };
}

export function toOpenAICheckpoint(job: JobRow, version: VersionRow) {
  const { training, evaluation } = job.result ?? {};
  return {
    id: `ftckpt-${version.id.replace(/^mv_/, '')}`,
    object: 'fine_tuning.job.checkpoint' as const,
    created_at: unix(version.createdAt)!,
    fine_tuned_model_checkpoint: version.name,
    fine_tuning_job_id: job.id,
    step_number: training?.steps ?? 0,
    metrics: {
      step: training?.steps ?? 0,
      train_loss: training?.final_loss ?? null,
      valid_loss: evaluation?.loss ?? null,
      valid_mean_token_accuracy: evaluation?.token_accuracy ?? null,
    },
  };
}

/**
 * The job's checkpoints, newest first as OpenAI lists them: the published model (once the job
 * succeeded), then each training checkpoint the trainer kept (at most three), with its step, the
 * training loss at that step, its size and how long it took to save. A training checkpoint is the
 * state a job resumes from, not a model to call: its `fine_tuned_model_checkpoint` is null.
 */
export function toOpenAICheckpoints(job: JobRow, version: VersionRow | null, lossAtStep: Map<number, number>) {
  const kept = [...(job.result?.training?.checkpoints ?? [])].sort((a, b) => b.step - a.step);
  const created = unix(job.finishedAt ?? job.startedAt ?? job.createdAt)!;
  const training = kept.map((c) => ({
    id: `ftckpt-${job.id.replace(/^ftjob-/, '')}-step-${c.step}`,
    object: 'fine_tuning.job.checkpoint' as const,
    created_at: created,
    fine_tuned_model_checkpoint: null,
    fine_tuning_job_id: job.id,
    step_number: c.step,
    metrics: { step: c.step, train_loss: lossAtStep.get(c.step) ?? null, valid_loss: null, valid_mean_token_accuracy: null },
    size_bytes: c.size_bytes,
    save_seconds: c.save_seconds,
  }));
  const published = version && job.status === 'succeeded' ? [toOpenAICheckpoint(job, version)] : [];
  return [...published, ...training];
}

/** A model: a base model of the catalog (by id), or a fine-tuned model version. */
export function toOpenAIModel(m: string | VersionRow) {
  if (typeof m === 'string') return { id: m, object: 'model' as const, created: 1_720_000_000, owned_by: 'liquid-ai' };
  return { id: m.name, object: 'model' as const, created: unix(m.createdAt)!, owned_by: m.orgId, root: m.baseModel, parent: m.baseModel };
}

export const openAIBaseModels = () => baseModels.map((m) => toOpenAIModel(m.id));

function numOrAuto(v: unknown, param: string): number | undefined {
  if (v === undefined || v === null || v === 'auto') return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new DomainError('invalid_request', `Invalid '${param}': expected a number or 'auto'.`, { param });
}

const knownBodyKeys = new Set([
  'model',
  'training_file',
  'validation_file',
  'hyperparameters',
  'method',
  'suffix',
  'seed',
  'target_devices',
  'target_pools',
  'training_pool',
  'quantizations',
  'budgets',
  'target_budgets',
  'training_type',
  'integrations',
  'metadata',
]);

/**
 * OpenAI's create-job body (plus documented extras) → contracts' createJobSchema input.
 * `fileObjective`: the objective the training file's format implies, for the defaults a
 * learning_rate_multiplier scales when the body names no objective.
 */
export function fromOpenAICreateJob(body: Record<string, unknown>, fileObjective: TrainingObjective = 'sft'): CreateJobInput {
  for (const k of Object.keys(body)) {
    if (!knownBodyKeys.has(k)) throw new DomainError('invalid_request', `Unrecognized request argument supplied: ${k}`, { param: k });
  }
  type MethodHp = { hyperparameters?: Record<string, unknown> };
  const methodObj = (body.method ?? null) as { type?: unknown; supervised?: MethodHp; dpo?: MethodHp } | null;
  if (methodObj !== null && (typeof methodObj !== 'object' || Array.isArray(methodObj))) {
    throw new DomainError('invalid_request', "Invalid 'method': expected an object.", { param: 'method' });
  }
  let method: 'lora' | 'full' | undefined;
  // OpenAI's method types name the objective: 'supervised' (sft) or 'dpo' (preference tuning).
  let objective: TrainingObjective | undefined;
  const mType = methodObj?.type;
  if (mType === 'lora' || mType === 'full') method = mType;
  else if (mType === 'supervised') objective = 'sft';
  else if (mType === 'dpo') objective = 'dpo';
  else if (mType !== undefined) {
    throw new DomainError('invalid_request', `Invalid 'method.type': '${String(mType)}' is not supported; use 'supervised' or 'dpo' (or 'lora' / 'full').`, { param: 'method.type' });
  }
  const tt = body.training_type;
  if (tt !== undefined && tt !== null) {
    if (tt !== 'lora' && tt !== 'full') throw new DomainError('invalid_request', "Invalid 'training_type': expected 'lora' or 'full'.", { param: 'training_type' });
    method = tt;
  }
  const methodHp = objective === 'dpo' ? methodObj?.dpo : methodObj?.supervised;
  const rawHp = {
    ...((methodHp?.hyperparameters as Record<string, unknown> | undefined) ?? {}),
    ...((body.hyperparameters as Record<string, unknown> | undefined) ?? {}),
  };
  if (body.hyperparameters !== undefined && (typeof body.hyperparameters !== 'object' || body.hyperparameters === null || Array.isArray(body.hyperparameters))) {
    throw new DomainError('invalid_request', "Invalid 'hyperparameters': expected an object.", { param: 'hyperparameters' });
  }
  const allowedHp = new Set(['n_epochs', 'batch_size', 'learning_rate_multiplier', 'learning_rate', 'lora_rank', 'lora_alpha', 'method', 'objective', 'beta']);
  for (const k of Object.keys(rawHp)) {
    if (!allowedHp.has(k)) throw new DomainError('invalid_request', `Unrecognized hyperparameter: ${k}`, { param: `hyperparameters.${k}` });
  }
  if (rawHp.method === 'lora' || rawHp.method === 'full') method ??= rawHp.method;
  if (rawHp.objective !== undefined) {
    if (objective !== undefined && rawHp.objective !== objective) {
      throw new DomainError('invalid_request', `Invalid 'hyperparameters.objective': '${String(rawHp.objective)}' contradicts method type '${String(mType)}'.`, { param: 'hyperparameters.objective' });
    }
    objective ??= rawHp.objective as TrainingObjective; // createJob validates the value
  }
  const m = method ?? defaultMethod(String(body.model));
  // Only an explicit method / objective travels on; createJob applies the defaults otherwise
  // (the objective follows the training file's format).
  const hyperparameters: Record<string, unknown> = method ? { method } : {};
  if (objective) hyperparameters.objective = objective;
  const beta = numOrAuto(rawHp.beta, 'hyperparameters.beta');
  if (beta !== undefined) hyperparameters.beta = beta;
  const nEpochs = numOrAuto(rawHp.n_epochs, 'hyperparameters.n_epochs');
  if (nEpochs !== undefined) hyperparameters.n_epochs = nEpochs;
  const batch = numOrAuto(rawHp.batch_size, 'hyperparameters.batch_size');
  if (batch !== undefined) hyperparameters.batch_size = batch;
  const lr = numOrAuto(rawHp.learning_rate, 'hyperparameters.learning_rate');
  const mult = numOrAuto(rawHp.learning_rate_multiplier, 'hyperparameters.learning_rate_multiplier');
  if (mult !== undefined && !(mult > 0)) throw new DomainError('invalid_request', "Invalid 'hyperparameters.learning_rate_multiplier': must be > 0.", { param: 'hyperparameters.learning_rate_multiplier' });
  if (lr !== undefined) hyperparameters.learning_rate = lr;
  else if (mult !== undefined) hyperparameters.learning_rate = defaultHyperparameters(String(body.model), m, objective ?? fileObjective).learning_rate * mult;
  const rank = numOrAuto(rawHp.lora_rank, 'hyperparameters.lora_rank');
  if (rank !== undefined) hyperparameters.lora_rank = rank;
  const alpha = numOrAuto(rawHp.lora_alpha, 'hyperparameters.lora_alpha');
  if (alpha !== undefined) hyperparameters.lora_alpha = alpha;

  const out: Record<string, unknown> = {
    model: body.model,
    training_file: body.training_file,
    hyperparameters,
  };
  if (body.validation_file !== undefined && body.validation_file !== null) out.validation_file = body.validation_file;
  if (body.suffix !== undefined && body.suffix !== null) out.suffix = body.suffix;
  if (body.seed !== undefined && body.seed !== null) out.seed = body.seed;
  if (body.target_devices !== undefined && body.target_devices !== null) out.target_devices = body.target_devices;
  if (body.target_pools !== undefined && body.target_pools !== null) out.target_pools = body.target_pools;
  if (body.training_pool !== undefined && body.training_pool !== null) out.training_pool = body.training_pool;
  if (body.quantizations !== undefined && body.quantizations !== null) out.quantizations = body.quantizations;
  if (body.budgets !== undefined && body.budgets !== null) out.budgets = body.budgets;
  if (body.target_budgets !== undefined && body.target_budgets !== null) out.target_budgets = body.target_budgets;
  return out as CreateJobInput;
}

/**
 * A createJob error in the words of the request it answers: a mismatch between the objective and
 * the training file, when the caller chose it with OpenAI's `method.type`, names that field.
 */
export function inOpenAIWords(e: unknown, body: Record<string, unknown>): unknown {
  const mType = (body.method as { type?: unknown } | null | undefined)?.type;
  if (e instanceof DomainError && e.param === 'hyperparameters.objective' && (mType === 'supervised' || mType === 'dpo')) {
    const fits = mType === 'dpo' ? "'supervised'" : "'dpo'";
    return new DomainError(e.code, `Invalid 'method.type': '${mType}' does not fit the training file; use ${fits}. ${e.message}`, { param: 'method.type' });
  }
  return e;
}

const openAITypes: Partial<Record<ErrorCode, string>> = {
  unauthenticated: 'invalid_request_error',
  forbidden: 'invalid_request_error',
  rate_limited: 'rate_limit_exceeded',
  quota_exceeded: 'insufficient_quota',
  unavailable: 'server_error',
  internal: 'server_error',
};

/** DomainError → OpenAI's `{error:{message,type,param,code}}` and HTTP status. */
export function toOpenAIError(e: DomainError): { status: number; body: { error: { message: string; type: string; param: string | null; code: string | null } } } {
  const status = errorCodes[e.code] ?? 500;
  let code: string | null = e.code;
  if (e.code === 'unauthenticated') code = 'invalid_api_key';
  else if (e.code === 'not_found' && e.param === 'model') code = 'model_not_found';
  else if (e.code === 'validation_failed') code = 'invalid_file_format';
  else if (e.code === 'invalid_request') code = null;
  return { status, body: { error: { message: e.message, type: openAITypes[e.code] ?? 'invalid_request_error', param: e.param, code } } };
}
