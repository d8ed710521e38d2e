import { z } from 'zod';
import { quantizations, quantizationSchema } from './devices';
import { budgetsSchema } from './budgets';
import { evaluationMetricsSchema } from './manifest';

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

const settingsShape = hyperparametersSchema.required().extend({ beta: hyperparametersSchema.shape.beta });

/**
 * A job's complete training settings: what the API stores on the job when it is created (the
 * caller's values, the model catalog's for the rest: `jobSettings` in models.ts) and what the
 * trainer receives. `beta` belongs to preference tuning and only to it.
 */
export const jobSettingsSchema = settingsShape.superRefine((s, ctx) => {
  if (s.objective === 'dpo' && s.beta === undefined) ctx.addIssue({ code: 'custom', path: ['beta'], message: "a DPO job's settings need 'beta'" });
  if (s.objective === 'sft' && s.beta !== undefined) ctx.addIssue({ code: 'custom', path: ['beta'], message: "'beta' only applies to preference tuning (DPO)" });
});
export type JobSettings = z.infer<typeof jobSettingsSchema>;

/**
 * What a job row's `hyperparameters` may hold: complete settings, or on rows from before they
 * were stored complete, a part of them (read those through `readJobSettings`).
 */
export const storedJobSettingsSchema = settingsShape.partial();
export type StoredJobSettings = z.infer<typeof storedJobSettingsSchema>;


export const createJobSchema = z
  .object({
    model: z.string().min(1).meta({ examples: ['lfm2-tiny'] }),
    training_file: z.string().min(1),
    validation_file: z.string().min(1).nullish(),
    hyperparameters: hyperparametersSchema.default({}),
    /** edgetune extra: device profile ids; empty or absent = every profile an online pool serves. */
    target_devices: z.array(z.string().min(1)).max(32).optional().meta({ description: 'Device profile ids; empty = every profile an online pool serves' }),
    /** edgetune extra: the platform training pool (a Temporal worker on queue train.<pool>); absent = the platform's default. */
    training_pool: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/, 'a training pool id: a-z, 0-9 and -')
      .optional()
      .meta({ description: 'The training pool to train on, e.g. a GPU pool; absent = the default training pool' }),
    /** edgetune extra: pools to measure on (ids, or names of the organization's own pools); absent = an online platform pool per device. */
    target_pools: z
      .array(z.string().min(1).max(200))
      .max(8)
      .optional()
      .meta({ description: "Pools the target devices are measured on (pool ids, or names of your organization's pools); each device is measured on every named pool that serves it. Absent = an online platform pool per device" }),
    /** edgetune extra: narrows each target device's candidate quantizations to these. */
    quantizations: z
      .array(quantizationSchema)
      .min(1)
      .max(quantizations.length)
      .optional()
      .meta({ description: "Quantizations to measure: each target device's candidates (GET /api/v1/devices) narrowed to these. Absent = every candidate of each device" }),
    /** edgetune extra: what a variant must meet to ship, on every target device. */
    budgets: budgetsSchema
      .optional()
      .meta({ description: "What the selected variant must meet on every target device (each profile's size and memory defaults apply where absent). When no candidate meets them the job fails naming, for each candidate, the budget it broke" }),
    /** edgetune extra: budgets per target device, over `budgets`. */
    target_budgets: z
      .record(z.string().min(1).max(64), budgetsSchema)
      .optional()
      .meta({ description: 'Budgets for one target device (by profile id), overriding `budgets` field by field' }),
    suffix: z.string().regex(/^[a-z0-9-]{1,40}$/, 'suffix may use a-z, 0-9 and -, up to 40 characters').nullish(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  })
  .strict();

export type CreateJobInput = z.input<typeof createJobSchema>;
export type CreateJob = z.output<typeof createJobSchema>;

/** What a job records as it runs (`jobs.result`): the training summary, then the held-out evaluation. */
export const jobResultSchema = z.object({
  training: z
    .object({
      /** Absent on jobs from before preference tuning existed: 'sft'. */
      objective: z.enum(trainingObjectives).optional(),
      steps: z.number(),
      final_loss: z.number(),
      tokens_per_second: z.number(),
      duration_s: z.number(),
      resumed_from_step: z.number(),
      /** The training pool and the hardware that trained (absent on jobs from before training pools). */
      pool: z.string().optional(),
      hardware: z
        .object({ device: z.enum(['cuda', 'cpu']), name: z.string(), count: z.number(), bf16: z.boolean(), peak_memory_bytes: z.number() })
        .optional(),
      /** The checkpoints kept (newest last, at most three) and the time spent saving (absent on older jobs). */
      checkpoints: z.array(z.object({ step: z.number(), size_bytes: z.number().nullable(), save_seconds: z.number().nullable() })).optional(),
      checkpoint_seconds: z.number().optional(),
      /** Whether gradient checkpointing was in effect (the memory plan switches it on; absent on older jobs). */
      gradient_checkpointing: z.boolean().optional(),
      /** Padding-free batches (false: padded, for an architecture that cannot be packed exactly; absent on older jobs). */
      packing: z.boolean().optional(),
    })
    .optional(),
  // A DPO evaluation without a margin records null; the manifest publishes 0 then.
  evaluation: evaluationMetricsSchema
    .extend({
      reward_margin: z.number().nullable().optional(),
      /** Held-out examples with a near-duplicate in training (absent with a validation file). */
      held_out_near_duplicates: z.number().optional(),
    })
    .optional(),
});
export type JobResult = z.infer<typeof jobResultSchema>;
