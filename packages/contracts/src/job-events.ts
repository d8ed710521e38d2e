/**
 * What happened to a fine-tuning job, as facts. The workflow and its activities record a fact
 * (a kind and its numbers); the sentence a person reads is made from it only when the event is
 * read, by `describeJobEvent`. Rewording a sentence therefore changes no workflow code and no
 * stored row, and cannot break the replay of a running job.
 *
 * Field names are those the events' public `data` carried before facts existed (snake_case for
 * most, the trainer's and device agent's camelCase outputs as they were spread in), so `data`
 * only gained fields.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const objective = z.enum(['sft', 'dpo']);
/** The stage a job was in when it ended; null before the first stage began. */
const stage = z.string().nullable();
/** A loss: a diverged run's NaN is stored as JSON null and reads as NaN, as the sentence said before facts. */
const loss = z.number().nullable();

export const jobEventFactSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('validating') }),
  z.object({
    kind: z.literal('dataset_validated'),
    base_model: z.string(),
    objective,
    train_examples: count,
    eval_examples: count,
    train_tokens: count,
    max_tokens: count,
    held_out_from_training: z.boolean(),
    /** Examples longer than the job trains on (kept as their first `max_seq_len` tokens). */
    truncated_examples: count.optional(),
    max_seq_len: count.optional(),
    /** Held-out examples with a near-duplicate left in training (absent with a validation file). */
    held_out_near_duplicates: count.optional(),
  }),
  z.object({ kind: z.literal('queued'), pool: z.string() }),
  /** `worker` is the Temporal identity of the trainer that picked the work up, when known. */
  z.object({ kind: z.literal('training_started'), worker: z.string().nullable() }),
  z.object({
    kind: z.literal('training_step'),
    step: count,
    total_steps: count,
    epoch: z.number(),
    train_loss: loss,
    learning_rate: z.number(),
    tokens_per_second: z.number(),
    checkpoint: z.string().nullable(),
    /** DPO steps only. */
    reward_accuracy: z.number().optional(),
    reward_margin: z.number().nullable().optional(),
  }),
  z.object({
    kind: z.literal('training_finished'),
    objective,
    steps: count,
    final_loss: loss,
    tokens_per_second: z.number(),
    resumed_from_step: count,
    /** "NVIDIA H100 80GB HBM3 (bf16)" or the CPU model; absent on events from before training pools. */
    hardware: z.string().optional(),
  }),
  // The trainer's EvaluateOutput as it was spread into the event's data (camelCase).
  z.looseObject({
    kind: z.literal('evaluated'),
    objective,
    examples: count,
    loss,
    tokenAccuracy: z.number(),
    taskAccuracy: z.number(),
    baseTaskAccuracy: z.number(),
    rewardAccuracy: z.number().optional(),
    rewardMargin: z.number().optional(),
  }),
  z.object({ kind: z.literal('exported'), size_bytes: count, llama_cpp_version: z.string() }),
  // The device agent's BenchmarkOutput as it was spread into the event's data (camelCase).
  z.looseObject({
    kind: z.literal('variant_benchmarked'),
    device: z.string(),
    quantization: z.string(),
    size_bytes: count,
    prefillTokensPerSecond: z.number(),
    decodeTokensPerSecond: z.number(),
    timeToFirstTokenMs: z.number(),
    peakRssBytes: z.number(),
    taskAccuracy: z.number(),
    // The whole fingerprint is stored; the sentence names only the CPU.
    fingerprint: z.object({ cpuModel: z.string() }),
    quality: z.object({ klDivergenceMean: z.number(), klDivergenceP99: z.number(), sameTopTokenPercent: z.number(), perplexityRatio: z.number() }).optional(),
    qualitySkipped: z.string().optional(),
  }),
  /** The smallest variant within `tolerance` of the best task accuracy that fits the budgets. */
  /** A device task waits for an online agent of its pool that serves its profile. */
  z.object({ kind: z.literal('waiting_for_device'), device: z.string(), pool: z.string(), wait_minutes: z.number() }),
  z.object({
    kind: z.literal('variant_selected'),
    device: z.string(),
    selected: z.string(),
    best_task_accuracy: z.number(),
    tolerance: z.number(),
    /** Why it won, by the documented rule over the Pareto front (absent on older events). */
    reason: z.string().optional(),
    pareto_front: z.array(z.string()).optional(),
  }),
  z.object({ kind: z.literal('published'), model: z.string(), version: count, variants: count }),
  z.object({ kind: z.literal('succeeded') }),
  z.object({ kind: z.literal('cancelled'), stage }),
  z.object({ kind: z.literal('failed'), stage, code: z.string(), error: z.string() }),
]);

export type JobEventFact = z.infer<typeof jobEventFactSchema>;
export type JobEventKind = JobEventFact['kind'];
/** One kind's fact without its `kind`, e.g. `JobEventOf<'queued'>` is `{ pool: string }`. */
export type JobEventOf<K extends JobEventKind> = Omit<Extract<JobEventFact, { kind: K }>, 'kind'>;

export const jobEventLevels = ['info', 'warn', 'error'] as const;
export type JobEventLevel = (typeof jobEventLevels)[number];
export type JobEventType = 'message' | 'metrics';

export function jobEventLevel(fact: JobEventFact): JobEventLevel {
  return fact.kind === 'failed' ? 'error' : fact.kind === 'waiting_for_device' ? 'warn' : 'info';
}

/** 'metrics' events carry measurements (the portal charts training steps from them). */
export function jobEventType(fact: JobEventFact): JobEventType {
  return fact.kind === 'training_step' || fact.kind === 'variant_benchmarked' ? 'metrics' : 'message';
}

/** A wait in words: "30 seconds", "1 minute", "2.5 minutes". */
export function waitText(minutes: number): string {
  if (minutes < 1) return `${Math.round(minutes * 60)} seconds`;
  const m = Math.round(minutes * 10) / 10;
  return `${m} minute${m === 1 ? '' : 's'}`;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const fixed = (x: number | null, digits: number) => (x === null ? 'NaN' : x.toFixed(digits));
/** Enough significant digits for a KL-divergence of 0.0003 and of 1.2 alike. */
const kl = (x: number) => (x === 0 ? '0' : x.toPrecision(2));

function qualityText(q: { klDivergenceMean: number; klDivergenceP99: number; sameTopTokenPercent: number; perplexityRatio: number } | undefined, skipped: string | undefined): string {
  if (q) {
    return `, against F16: KL-divergence ${kl(q.klDivergenceMean)} (p99 ${kl(q.klDivergenceP99)}), same top token ${q.sameTopTokenPercent.toFixed(1)} %, perplexity ×${q.perplexityRatio.toFixed(3)}`;
  }
  return skipped ? `, quality against F16 not measured (${skipped})` : '';
}
const during = (s: string | null) => (s ? ` during ${s}` : '');

/** The sentence for one fact: the only place event wording lives. */
export function describeJobFact(f: JobEventFact): string {
  switch (f.kind) {
    case 'validating':
      return 'Validating training file';
    case 'dataset_validated':
      return (
        `Dataset validated with ${f.base_model}'s tokenizer: ${f.train_examples} training and ${f.eval_examples} evaluation ${f.objective === 'dpo' ? 'preference pairs' : 'examples'}, ${f.train_tokens} training tokens (longest ${f.max_tokens})` +
        (f.held_out_from_training ? '; evaluation examples held out from the training file' : '') +
        (f.held_out_near_duplicates ? ` (${f.held_out_near_duplicates} of them ${f.held_out_near_duplicates === 1 ? 'has' : 'have'} a near-duplicate in training, which flatters their accuracy)` : '') +
        (f.truncated_examples
          ? `; ${f.truncated_examples} ${f.truncated_examples === 1 ? 'example is' : 'examples are'} longer than the ${f.max_seq_len ?? 'maximum'} tokens a job trains on and ${f.truncated_examples === 1 ? 'trains on its' : 'train on their'} first tokens`
          : '')
      );
    case 'queued':
      return `Queued for training on pool ${f.pool}`;
    case 'training_started':
      return `Training started on pool ${f.worker ?? 'unknown'}`;
    case 'training_step':
      return (
        `Step ${f.step}/${f.total_steps}: training loss=${fixed(f.train_loss, 4)}` +
        (f.reward_accuracy !== undefined ? `, reward accuracy=${f.reward_accuracy.toFixed(3)}, reward margin=${(f.reward_margin ?? 0).toFixed(4)}` : '')
      );
    case 'training_finished':
      return (
        `Training${f.objective === 'dpo' ? ' (DPO)' : ''} finished: ${f.steps} steps, final loss ${fixed(f.final_loss, 4)}, ${Math.round(f.tokens_per_second)} tokens/s` +
        (f.hardware ? ` on ${f.hardware}` : '') +
        (f.resumed_from_step > 0 ? ` (resumed from step ${f.resumed_from_step})` : '')
      );
    case 'evaluated': {
      const dpo = f.objective === 'dpo';
      return (
        `Evaluation on ${f.examples} held-out ${dpo ? 'preference pairs' : 'examples'}: ${dpo ? 'DPO ' : ''}loss ${fixed(f.loss, 4)}` +
        (f.rewardAccuracy !== undefined ? `, reward accuracy ${pct(f.rewardAccuracy)} (margin ${(f.rewardMargin ?? 0).toFixed(3)})` : '') +
        `, token accuracy ${pct(f.tokenAccuracy)}, task accuracy ${pct(f.taskAccuracy)} (base model: ${pct(f.baseTaskAccuracy)})`
      );
    }
    case 'exported':
      return `Merged and exported GGUF F16 (${f.size_bytes} bytes, llama.cpp ${f.llama_cpp_version})`;
    case 'variant_benchmarked':
      return `${f.device} ${f.quantization}: ${(f.size_bytes / 1e6).toFixed(1)} MB, prefill ${f.prefillTokensPerSecond.toFixed(0)} tok/s, decode ${f.decodeTokensPerSecond.toFixed(0)} tok/s, TTFT ${f.timeToFirstTokenMs.toFixed(0)} ms, peak RSS ${(f.peakRssBytes / 1e6).toFixed(0)} MB, task accuracy ${pct(f.taskAccuracy)}${qualityText(f.quality, f.qualitySkipped)} (measured on ${f.fingerprint.cpuModel})`;
    case 'waiting_for_device':
      return `Waiting for a device of profile ${f.device} in pool ${f.pool}: no agent serving it is online (the job fails if none comes online within ${waitText(f.wait_minutes)})`;
    case 'variant_selected':
      return f.reason
        ? `Selected for ${f.device}: ${f.reason}`
        : `Selected ${f.selected} for ${f.device}: smallest variant within ${f.tolerance * 100} points of the best task accuracy (${pct(f.best_task_accuracy)}) that fits the budgets`;
    case 'published':
      return `Published ${f.model} (version ${f.version}) with ${f.variants} variants`;
    case 'succeeded':
      return 'The job has successfully completed';
    case 'cancelled':
      return `The job was cancelled${during(f.stage)}`;
    case 'failed':
      return `The job failed${during(f.stage)}: ${f.error}`;
  }
}

/**
 * The sentence of a stored event. Events written before facts existed carry only their sentence
 * (`message`) and are shown as written; newer ones carry no message and a fact in `data`.
 */
export function describeJobEvent(row: { message: string | null; data: unknown }): string {
  if (row.message !== null) return row.message;
  return describeJobFact(jobEventFactSchema.parse(row.data));
}

/**
 * The events table's `data`: a fact for events written since facts exist (their `message` is
 * null), and for older events whatever measurements they carried beside their sentence.
 */
export type StoredJobEventData = JobEventFact | Record<string, unknown>;
