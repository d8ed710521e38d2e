/**
 * How much memory a training run will hold at its peak, known before it starts: the plan shows it
 * with the job's cost estimate, switches on gradient checkpointing when that is what makes a job
 * fit its training pool, and refuses a job that cannot fit even so.
 *
 * The trainer keeps float32 trained weights and AdamW state, and computes in bf16 where the
 * hardware has it (the pool's trainers say so: `bf16`), so:
 * - weights: 4 bytes per parameter (LoRA in bf16: 2 for the frozen base but its embedding), plus
 *   the checkpoint's own bf16 copy while it loads;
 * - trained parameters (all of them, or LoRA's adapters): 4 bytes of gradient, 8 of AdamW moments,
 *   and the optimizer step's temporaries;
 * - activations: per token of the largest batch (batch size × sequence length, twice for DPO's
 *   chosen and rejected), in every block, and in the logits over the vocabulary at the answer
 *   tokens; with gradient
 *   checkpointing only each block's input is kept, and one block's activations are recomputed;
 * - the runtime itself (Python, PyTorch, transformers).
 *
 * The per-token and fixed constants are measured, not derived: `npm run bench:train-memory` runs
 * the trainer on the LFM2-350M configuration and prints this estimate next to the measured peak.
 */

/** What the estimate needs of a model's architecture (from its config.json). */
export interface ModelArchitecture {
  parameters: number;
  hiddenSize: number;
  /** The feed-forward width after LFM2's auto-adjustment. */
  ffnSize: number;
  layers: number;
  attentionLayers: number;
  kvHeads: number;
  heads: number;
  vocab: number;
  /** Bytes per parameter of the checkpoint as stored (bf16: 2). */
  storedBytesPerParameter: number;
}

/**
 * The architectures of the catalog's models: lfm2-tiny as the trainer generates it
 * (edgetune_trainer/tiny_model.py), the released LFM2 configurations (LiquidAI/LFM2-*'s
 * config.json; the feed-forward width as `block_auto_adjust_ff_dim` makes it).
 */
export const modelArchitectures: Record<string, ModelArchitecture> = {
  'lfm2-tiny': { parameters: 4_205_952, hiddenSize: 256, ffnSize: 512, layers: 6, attentionLayers: 3, heads: 4, kvHeads: 2, vocab: 1814, storedBytesPerParameter: 4 },
  'lfm2-350m': { parameters: 354_483_968, hiddenSize: 1024, ffnSize: 4608, layers: 16, attentionLayers: 6, heads: 16, kvHeads: 8, vocab: 65_536, storedBytesPerParameter: 2 },
  'lfm2-700m': { parameters: 742_489_344, hiddenSize: 1536, ffnSize: 6912, layers: 16, attentionLayers: 6, heads: 24, kvHeads: 8, vocab: 65_536, storedBytesPerParameter: 2 },
  'lfm2-1.2b': { parameters: 1_170_340_608, hiddenSize: 2048, ffnSize: 8192, layers: 16, attentionLayers: 6, heads: 32, kvHeads: 8, vocab: 65_536, storedBytesPerParameter: 2 },
  'lfm2-2.6b': { parameters: 2_569_272_320, hiddenSize: 2048, ffnSize: 10_752, layers: 30, attentionLayers: 8, heads: 32, kvHeads: 8, vocab: 65_536, storedBytesPerParameter: 2 },
};

export interface MemoryEstimateInput {
  modelId: string;
  method: 'lora' | 'full';
  objective: 'sft' | 'dpo';
  batchSize: number;
  loraRank: number;
  /** The longest sequence trained (examples are cut to it). */
  seqLen: number;
  gradientCheckpointing: boolean;
  /** The trainers compute in bf16 (they report `bf16=1`); absent: float32, the larger estimate. */
  bf16?: boolean;
}

export interface MemoryEstimate {
  /** The peak: the larger of loading and training. */
  peakBytes: number;
  runtimeBytes: number;
  weightsBytes: number;
  /** Gradients, AdamW moments and the optimizer step's temporaries of the trained parameters. */
  optimizerBytes: number;
  activationsBytes: number;
  /** The weights plus the checkpoint's stored copy, while loading. */
  loadingBytes: number;
  trainedParameters: number;
  gradientCheckpointing: boolean;
}

// Measured constants (see the module comment and the README's memory section), with the trainer's
// allocator set up as it runs it (hardware.predictable_allocator: without it glibc's heap
// fragments and the same run peaks anywhere in a 40 % range).
/** Python, PyTorch, transformers and peft, resident before the model loads. */
const RUNTIME_BYTES = 0.55 * 2 ** 30;
/** What a training step holds besides weights, optimizer and activations (autograd, allocator). */
const STEP_OVERHEAD_BYTES = 0.5 * 2 ** 30;
/** The share of the gradients already alive when the activations peak (the backward pass frees one as it makes the other). */
const GRADIENTS_AT_ACTIVATION_PEAK = 0.3;
/** The optimizer step's temporaries, per byte of AdamW state (foreach kernels copy a list at a time). */
const OPTIMIZER_TEMPORARIES = 0.2;
/** Floats kept per token and block, in units of the block's widths (2 × hidden + feed-forward). */
const BLOCK_FLOATS_PER_WIDTH = 4.4;
/** Floats per token and vocabulary entry: the logits, their log-softmax and its gradient. */
const LOGIT_COPIES = 3;
/** Floats per token and block kept under gradient checkpointing: the block's input. */
const CHECKPOINTED_FLOATS_PER_HIDDEN = 1;
/** Activations in bf16 compute, against float32 (most saved tensors are bf16 casts). */
const BF16_ACTIVATION_SHARE = 0.65;
/**
 * The share of a batch's tokens whose logits are computed: the trainer computes them only where
 * an answer token is predicted. Taken as half (the probe's data, and a typical chat set); a set
 * of long answers to short prompts holds more than the estimate says.
 */
const ANSWER_SHARE = 0.5;

/** The adapters LoRA trains: rank × (in + out) for each module the trainer targets (train.py's LORA_TARGET_MODULES). */
export function loraParameters(a: ModelArchitecture, rank: number): number {
  const h = a.hiddenSize;
  const kv = (h / a.heads) * a.kvHeads;
  const ffn = 3 * (h + a.ffnSize); // w1, w3: h → ffn; w2: ffn → h
  const attention = 2 * h + 2 * (h + kv) + 2 * h; // q, k, v, out_proj
  const conv = 4 * h + 2 * h; // in_proj: h → 3h; out_proj
  return rank * (a.layers * ffn + a.attentionLayers * attention + (a.layers - a.attentionLayers) * conv);
}

export function estimateTrainingMemory(input: MemoryEstimateInput): MemoryEstimate | null {
  const a = modelArchitectures[input.modelId];
  if (!a) return null;
  // LoRA in bf16: the frozen base linears are stored in bf16; the embedding (and the output tied to it) stays float32.
  const weightsBytes = input.method === 'lora' && input.bf16 ? 2 * a.parameters + 2 * a.vocab * a.hiddenSize : 4 * a.parameters;
  const trainedParameters = input.method === 'full' ? a.parameters : loraParameters(a, input.loraRank);
  const gradients = 4 * trainedParameters;
  const adam = 8 * trainedParameters;
  const tokens = input.batchSize * input.seqLen * (input.objective === 'dpo' ? 2 : 1);
  const block = BLOCK_FLOATS_PER_WIDTH * (2 * a.hiddenSize + a.ffnSize);
  // Checkpointed: each block's input, and one block's activations while it is recomputed.
  const blocks = input.gradientCheckpointing ? a.layers * CHECKPOINTED_FLOATS_PER_HIDDEN * a.hiddenSize + block : a.layers * block;
  const activationsBytes = 4 * tokens * (blocks + ANSWER_SHARE * LOGIT_COPIES * a.vocab) * (input.bf16 ? BF16_ACTIVATION_SHARE : 1);
  const loadingBytes = 4 * a.parameters + a.storedBytesPerParameter * a.parameters;
  // Two moments of a step: the end of the forward pass (activations, the first gradients) and
  // the optimizer step (all gradients and its temporaries); AdamW's moments live through both.
  const peakOfStep = Math.max(activationsBytes + GRADIENTS_AT_ACTIVATION_PEAK * gradients, gradients + OPTIMIZER_TEMPORARIES * adam);
  const training = weightsBytes + adam + STEP_OVERHEAD_BYTES + peakOfStep;
  const optimizerBytes = gradients + adam * (1 + OPTIMIZER_TEMPORARIES);
  return {
    peakBytes: Math.round(RUNTIME_BYTES + Math.max(loadingBytes, training)),
    runtimeBytes: RUNTIME_BYTES,
    weightsBytes,
    optimizerBytes: Math.round(optimizerBytes),
    activationsBytes: Math.round(activationsBytes),
    loadingBytes,
    trainedParameters,
    gradientCheckpointing: input.gradientCheckpointing,
  };
}

export interface MemoryPlan {
  estimate: MemoryEstimate;
  /** The memory of the pool's smallest trainer, when its trainers report it. */
  capacityBytes: number | null;
  /** The estimate fits the capacity (true when the capacity is unknown). */
  fits: boolean;
}

/**
 * The run's memory plan on a pool whose smallest trainer has `capacityBytes` (null: unknown).
 * Gradient checkpointing costs a second forward pass per step, so it is switched on only when the
 * run would not fit without it and fits with it. Null when the model's architecture is unknown.
 */
export function planTrainingMemory(input: Omit<MemoryEstimateInput, 'gradientCheckpointing'>, capacityBytes: number | null): MemoryPlan | null {
  const plain = estimateTrainingMemory({ ...input, gradientCheckpointing: false });
  if (!plain) return null;
  if (capacityBytes === null || plain.peakBytes <= capacityBytes) return { estimate: plain, capacityBytes, fits: true };
  const checkpointed = estimateTrainingMemory({ ...input, gradientCheckpointing: true })!;
  return { estimate: checkpointed, capacityBytes, fits: checkpointed.peakBytes <= capacityBytes };
}

/** A job's memory plan as the job keeps it (the trainer gets `gradientCheckpointing`). */
export interface StoredMemoryPlan {
  peakBytes: number;
  gradientCheckpointing: boolean;
  /** The smallest trainer of the pool when the job was planned; null when its trainers did not say. */
  capacityBytes: number | null;
  pool: string;
}
