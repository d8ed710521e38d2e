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
  /** ed25519 over the canonical JSON of the manifest without `signature`. */
  signature: z.object({ algorithm: z.literal('ed25519'), key_id: z.string(), value: z.string() }).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
