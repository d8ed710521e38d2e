import { z } from 'zod';
import { fingerprintSchema } from './devices';

/** Held-out metrics of a trained model, as the job records them and its manifest publishes them. */
export const evaluationMetricsSchema = z.object({
  loss: z.number(),
  token_accuracy: z.number(),
  task_accuracy: z.number(),
  base_task_accuracy: z.number(),
  examples: z.number(),
  reward_accuracy: z.number().optional(),
  reward_margin: z.number().optional(),
});

/** A variant against the job's F16 on the evaluation split's text (llama-perplexity --kl-divergence). */
export const variantQualitySchema = z.object({
  reference: z.literal('F16'),
  kl_divergence_mean: z.number(),
  kl_divergence_p99: z.number(),
  same_top_token_percent: z.number(),
  perplexity: z.number(),
  reference_perplexity: z.number(),
  perplexity_ratio: z.number(),
  eval_tokens: z.number(),
  context_tokens: z.number(),
  chunks: z.number(),
});
export type VariantQualityMetrics = z.infer<typeof variantQualitySchema>;

/** One measured figure over its repetitions. */
export const figureSpreadSchema = z.object({ median: z.number(), p10: z.number(), p90: z.number(), samples: z.number() });

export const variantMetricsSchema = z.object({
  prefill_tokens_per_second: z.number(),
  decode_tokens_per_second: z.number(),
  time_to_first_token_ms: z.number(),
  peak_rss_bytes: z.number(),
  task_accuracy: z.number(),
  eval_examples: z.number(),
  threads: z.number(),
  repetitions: z.number(),
  /** Absent from versions published before quality was measured, or when the eval split was too short to score. */
  quality: variantQualitySchema.optional(),
  quality_skipped: z.string().optional(),
  /**
   * Every speed figure above is the median of `samples` repetitions; p10 and p90 give its spread.
   * `converged`: each spread fell below `max_spread` before the repetition cap. Absent from older versions.
   */
  spread: z
    .object({
      prefill_tokens_per_second: figureSpreadSchema,
      decode_tokens_per_second: figureSpreadSchema,
      time_to_first_token_ms: figureSpreadSchema,
      converged: z.boolean(),
      max_spread: z.number(),
    })
    .optional(),
  /** Where it was measured: the hottest CPU temperature read (where the OS exposes one), the runtime's build. */
  environment: z.object({ temperature_c: z.number().optional(), build_flags: z.string(), runtime: z.string().optional() }).optional(),
  /** The GGUF's chat template rendered the first eval prompt to the very token ids training used (absent: not checked). */
  template_parity: z.object({ matched: z.literal(true), prompt_tokens: z.number() }).optional(),
});
export type VariantMetrics = z.infer<typeof variantMetricsSchema>;

/** The importance matrix a variant was quantized with: llama-imatrix on a sample of the job's training data. */
export const variantImatrixSchema = z.object({
  sha256: z.string(),
  dataset: z.literal('training sample'),
  calibration_tokens: z.number(),
  context_tokens: z.number(),
  chunks: z.number(),
});

/** A variant row's metrics: the manifest's, the spread of the repeated runs and the machine measured on. */
export const storedVariantMetricsSchema = variantMetricsSchema.extend({
  prefill_stdev: z.number(),
  decode_stdev: z.number(),
  fingerprint: fingerprintSchema,
  imatrix: variantImatrixSchema.optional(),
  imatrix_skipped: z.string().optional(),
});
export type StoredVariantMetrics = z.infer<typeof storedVariantMetricsSchema>;

export const manifestVariantSchema = z.object({
  device: z.string(),
  quantization: z.string(),
  format: z.literal('gguf'),
  size_bytes: z.number(),
  sha256: z.string(),
  download_url: z.string(),
  selected: z.boolean(),
  metrics: variantMetricsSchema,
  /** Present when the variant was quantized with an importance matrix (K- and I-quants). */
  imatrix: variantImatrixSchema.optional(),
  measured_on: z.object({ pool: z.string(), cpu_model: z.string(), cores: z.number(), llama_cpp_version: z.string() }),
});
export type ManifestVariant = z.infer<typeof manifestVariantSchema>;

/** How a device's variant was chosen: its budgets, the Pareto front of those meeting them, and why the winner won. */
export const deviceSelectionSchema = z.object({
  device: z.string(),
  pool: z.string(),
  selected: z.string(),
  budgets: z.record(z.string(), z.number()),
  pareto_front: z.array(z.string()),
  dominated: z.array(z.object({ quantization: z.string(), by: z.string() })),
  rejected: z.array(z.object({ quantization: z.string(), broken: z.array(z.object({ budget: z.string(), limit: z.number(), measured: z.number().nullable() })) })),
  reason: z.string(),
});
export type DeviceSelection = z.infer<typeof deviceSelectionSchema>;

/** The published manifest of a model version: what a fleet downloads and verifies. */
export const manifestSchema = z.object({
  model: z.string(),
  version: z.number(),
  base_model: z.string(),
  job: z.string(),
  created_at: z.string(),
  llama_cpp_version: z.string(),
  /** Held-out metrics; a preference-tuned (DPO) model adds its reward accuracy and margin against the base. */
  evaluation: evaluationMetricsSchema,
  variants: z.array(manifestVariantSchema),
  /** Per device (and pool): the rule's choice over the Pareto front; absent from versions published before budgets. */
  selection: z.array(deviceSelectionSchema).optional(),
  /** ed25519 over the canonical JSON of the manifest without `signature`. */
  signature: z.object({ algorithm: z.literal('ed25519'), key_id: z.string(), value: z.string() }).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
