import { z } from 'zod';

/** OpenAI's status names; every surface shows these. */
export const jobStatuses = ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const terminalStatuses: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];


export const hyperparametersSchema = z
  .object({
    /** Absent: the base model's default method (the first of its `methods`). */
    method: z.enum(['lora', 'full']).optional(),
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
    model: z.string().min(1),
    training_file: z.string().min(1),
    validation_file: z.string().min(1).nullish(),
    hyperparameters: hyperparametersSchema.default({}),
    /** edgetune extra: device profile ids; empty or absent = every profile an online pool serves. */
    target_devices: z.array(z.string().min(1)).max(32).optional(),
    suffix: z.string().regex(/^[a-z0-9-]{1,40}$/, 'suffix may use a-z, 0-9 and -, up to 40 characters').nullish(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict();

export type CreateJobInput = z.input<typeof createJobSchema>;
export type CreateJob = z.output<typeof createJobSchema>;
