/**
 * What a job row means, read once: its settings with the model's defaults for what was left unset,
 * its error, result and fine-tuned model name. Every API style (tRPC, REST, OpenAI) shapes these
 * facts in its own words; none reads the row's raw fields for them.
 */
import { DEFAULT_DPO_BETA, defaultHyperparameters, readJobSettings, type JobStatus, type TrainingObjective } from '@edgetune/contracts';
import type { FileRow, JobUse } from '../datasets/files';
import type { JobRow, VersionRow } from './jobs';

export interface JobSettings {
  method: 'lora' | 'full';
  objective: TrainingObjective;
  /** DPO's beta; the default on a supervised job, where it has no effect. */
  beta: number;
  n_epochs: number;
  batch_size: number;
  learning_rate: number;
  /** learning_rate over the default of the job's model, method and objective (OpenAI's knob). */
  learning_rate_multiplier: number;
  lora_rank: number;
}

export interface JobError {
  code: string;
  message: string;
  param: string | null;
}

export interface JobFacts {
  status: JobStatus;
  settings: JobSettings;
  /** Set exactly when the job failed; a failure recorded without a reason reads as an internal error. */
  error: JobError | null;
  /** Evaluation metrics and the training summary, once training reported them. */
  result: Record<string, unknown> | null;
  /** The name to call the model by, once the job succeeded. */
  fineTunedModel: string | null;
}

export function jobSettings(job: JobRow): JobSettings {
  // The catalog completes rows stored before settings were stored whole; nothing is defaulted here.
  const s = readJobSettings(job.baseModel, job.hyperparameters);
  const d = defaultHyperparameters(job.baseModel, s.method, s.objective);
  return {
    method: s.method,
    objective: s.objective,
    beta: s.beta ?? DEFAULT_DPO_BETA,
    n_epochs: s.n_epochs,
    batch_size: s.batch_size,
    learning_rate: s.learning_rate,
    learning_rate_multiplier: Number((s.learning_rate / d.learning_rate).toPrecision(6)),
    lora_rank: s.lora_rank,
  };
}

export function readJob(job: JobRow, version?: VersionRow | null): JobFacts {
  const status = job.status as JobStatus;
  const error = status === 'failed' ? (job.error ?? { code: 'internal', message: 'The job failed.', param: null }) : null;
  return {
    status,
    settings: jobSettings(job),
    error: error ? { code: error.code, message: error.message, param: error.param ?? null } : null,
    result: job.result ?? null,
    fineTunedModel: status === 'succeeded' ? (job.fineTunedModel ?? version?.name ?? null) : null,
  };
}

/** Numbers of a job's result, under either spelling the trainer has used. */
export function resultNumber(result: Record<string, unknown> | null, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = result?.[k];
    if (typeof v === 'number') return v;
  }
  return undefined;
}

/** Whether a job trained on a file or validated on it. */
export function fileRole(job: JobUse, file: Pick<FileRow, 'id'>): 'training' | 'validation' {
  return job.trainingFileId === file.id ? 'training' : 'validation';
}
