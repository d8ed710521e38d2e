/** The published manifest of a model version: what a fleet downloads and verifies. */
export interface VariantMetrics {
  prefill_tokens_per_second: number;
  decode_tokens_per_second: number;
  time_to_first_token_ms: number;
  peak_rss_bytes: number;
  task_accuracy: number;
  eval_examples: number;
  threads: number;
  repetitions: number;
}

export interface ManifestVariant {
  device: string;
  quantization: string;
  format: 'gguf';
  size_bytes: number;
  sha256: string;
  download_url: string;
  selected: boolean;
  metrics: VariantMetrics;
  measured_on: { pool: string; cpu_model: string; cores: number; llama_cpp_version: string };
}

export interface Manifest {
  model: string;
  version: number;
  base_model: string;
  job: string;
  created_at: string;
  llama_cpp_version: string;
  /** Held-out metrics; a preference-tuned (DPO) model adds its reward accuracy and margin against the base. */
  evaluation: {
    loss: number;
    token_accuracy: number;
    task_accuracy: number;
    base_task_accuracy: number;
    examples: number;
    reward_accuracy?: number;
    reward_margin?: number;
  };
  variants: ManifestVariant[];
  /** ed25519 over the canonical JSON of the manifest without `signature`. */
  signature?: { algorithm: 'ed25519'; key_id: string; value: string };
}
