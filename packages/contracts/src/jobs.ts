import { z } from 'zod';

/** OpenAI's status names; every surface shows these. */
export const jobStatuses = ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const terminalStatuses: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];


/**
 * What a job optimizes, which follows the training file's format: supervised fine-tuning on chat
 * and prompt/completion data, Direct Preference Optimization on preference pairs.
 */
export const trainingObjectives = ['sft', 'dpo'] as const;
export type TrainingObjective = (typeof trainingObjectives)[number];

/** A stored job's objective: rows from before preference tuning existed carry none and were supervised. */
export function jobObjective(hyperparameters: Record<string, unknown>): TrainingObjective {
  return hyperparameters.objective === 'dpo' ? 'dpo' : 'sft';
}

/** DPO's beta when a job sets none (Liquid's leap-finetune and TRL use the same). */
export const DEFAULT_DPO_BETA = 0.1;

export const hyperparametersSchema = z
  .object({
    /** Absent: the base model's default method (the first of its `methods`). */
    method: z.enum(['lora', 'full']).optional(),
    /** Absent: from the training file's format (preference → dpo, otherwise sft); given, it must match. */
    objective: z
      .enum(trainingObjectives)
      .optional()
      .meta({
        description:
          "What the job optimizes; follows the training file's format: preference pairs train with 'dpo' (Direct Preference Optimization against the base model), chat and prompt/completion data with 'sft' (supervised). Optional; when given it must match, and a validation file must be the same kind as the training file.",
      }),
    /** DPO only: how far the tuned model may move from the base (higher = stays closer). */
    beta: z
      .number()
      .gt(0, 'beta must be greater than 0')
      .max(10, 'beta must be at most 10')
      .optional()
      .meta({ description: `DPO only (default ${DEFAULT_DPO_BETA}): how strongly the tuned model is held to the base; refused on an 'sft' job.` }),
    n_epochs: z.number().int().min(1).max(50).optional(),
    learning_rate: z.number().positive().max(1).optional(),
    batch_size: z.number().int().min(1).max(256).optional(),
    lora_rank: z.number().int().min(1).max(256).optional(),
    lora_alpha: z.number().positive().max(4096).optional(),
  })
  .strict();

export type HyperparametersInput = z.input<typeof hyperparametersSchema>;


export const createJobSchema = z
  .object({
    model: z.string().min(1).meta({ examples: ['lfm2-tiny'] }),
    training_file: z.string().min(1),
    validation_file: z.string().min(1).nullish(),
    hyperparameters: hyperparametersSchema.default({}),
    /** edgetune extra: device profile ids; empty or absent = every profile an online pool serves. */
    target_devices: z.array(z.string().min(1)).max(32).optional().meta({ description: 'Device profile ids; empty = every profile an online pool serves' }),
    suffix: z.string().regex(/^[a-z0-9-]{1,40}$/, 'suffix may use a-z, 0-9 and -, up to 40 characters').nullish(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict();

export type CreateJobInput = z.input<typeof createJobSchema>;
export type CreateJob = z.output<typeof createJobSchema>;
