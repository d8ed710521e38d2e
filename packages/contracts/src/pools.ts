/**
 * Organization pools: the wire shapes between the platform and an agent that speaks only HTTPS
 * (enroll, long-poll for work, heartbeat, complete, fail), and the task inputs they carry.
 */
import { z } from 'zod';
import { fingerprintSchema, quantizationSchema } from './devices';

export { quantizations, quantizationSchema, type Quantization } from './devices';

export const poolNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit')
  .meta({ description: 'A name unique in the organization, e.g. "car-lab"' });

export const createPoolSchema = z.strictObject({ name: poolNameSchema });

/** What one task asks of an agent; object keys only (the agent gets URLs for them). */
export const poolTaskInputSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('quantize'),
    jobId: z.string(),
    device: z.string(),
    sourceKey: z.string(),
    quantization: quantizationSchema,
    outputKey: z.string(),
    /** Text sampled from the job's training data, for the importance matrix of K- and I-quants. */
    calibrationKey: z.string().optional(),
  }),
  z.object({
    kind: z.literal('benchmark'),
    jobId: z.string(),
    device: z.string(),
    modelKey: z.string(),
    evalKey: z.string(),
    maxNewTokens: z.number().int(),
    /** The job's F16: the variant's quality is measured against it (tasks queued before quality was measured lack it). */
    referenceKey: z.string().optional(),
    /** The first eval prompt's ids as training rendered it: the chat template parity check. */
    expectedPromptTokenIds: z.array(z.number().int()).max(4096).optional(),
  }),
]);
export type PoolTaskInput = z.infer<typeof poolTaskInputSchema>;

export const agentNameSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores');

export const agentRegisterSchema = z.strictObject({
  name: agentNameSchema.meta({ description: 'Stable name of this machine in the pool (its hostname by default)' }),
  fingerprint: fingerprintSchema,
});

export const agentPollSchema = z.strictObject({
  agent_id: z.string().max(64),
  wait_seconds: z.number().int().min(0).max(30).optional().meta({ description: 'Long-poll: hold the request up to this long for a task (default 20)' }),
});

export const agentHeartbeatSchema = z.strictObject({
  agent_id: z.string().max(64),
  progress: z.record(z.string().max(64), z.union([z.number(), z.string().max(256), z.boolean(), z.null()])).optional(),
});

const finite = z.number().finite();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters');

export const quantizeResultSchema = z.strictObject({
  key: z.string().max(1024),
  quantization: quantizationSchema,
  sizeBytes: z.number().int().min(1),
  sha256: sha256Hex,
  durationS: finite.min(0),
  imatrix: z
    .strictObject({
      sha256: sha256Hex,
      dataset: z.literal('training sample'),
      calibrationTokens: z.number().int().min(0),
      contextTokens: z.number().int().min(1),
      chunks: z.number().int().min(1),
    })
    .optional(),
  imatrixSkipped: z.string().max(1000).optional(),
});

const figureSpreadSchema = z.strictObject({
  median: finite.min(0),
  p10: finite.min(0),
  p90: finite.min(0),
  samples: z.number().int().min(1),
  relativeSpread: finite.min(0),
});

export const variantQualityResultSchema = z.strictObject({
  reference: z.literal('F16'),
  klDivergenceMean: finite.min(0),
  klDivergenceP99: finite.min(0),
  sameTopTokenPercent: finite.min(0).max(100),
  perplexity: finite.min(0),
  referencePerplexity: finite.min(0),
  perplexityRatio: finite.min(0),
  evalTokens: z.number().int().min(0),
  contextTokens: z.number().int().min(1),
  chunks: z.number().int().min(1),
});

export const benchmarkResultSchema = z.strictObject({
  prefillTokensPerSecond: finite.min(0),
  decodeTokensPerSecond: finite.min(0),
  prefillStdev: finite.min(0),
  decodeStdev: finite.min(0),
  timeToFirstTokenMs: finite.min(0),
  peakRssBytes: finite.min(0),
  sizeBytes: finite.min(0),
  taskAccuracy: finite.min(0).max(1),
  evalExamples: z.number().int().min(0),
  threads: z.number().int().min(1),
  repetitions: z.number().int().min(1),
  fingerprint: fingerprintSchema,
  quality: variantQualityResultSchema.optional(),
  qualitySkipped: z.string().max(1000).optional(),
  templateParity: z.strictObject({ promptTokens: z.number().int().min(0) }).optional(),
  protocol: z
    .strictObject({
      prefill: figureSpreadSchema,
      decode: figureSpreadSchema,
      ttftMs: figureSpreadSchema,
      converged: z.boolean(),
      maxSpread: finite.min(0),
      maxRepetitions: z.number().int().min(1),
      rounds: z.number().int().min(1),
      warmup: z.number().int().min(0),
    })
    .optional(),
  environment: z.strictObject({ temperatureC: finite.optional(), buildFlags: z.string().max(2000), runtime: z.string().max(500).optional() }).optional(),
});

export const agentCompleteSchema = z.strictObject({
  agent_id: z.string().max(64),
  result: z.union([quantizeResultSchema, benchmarkResultSchema]),
});

export const agentFailSchema = z.strictObject({
  agent_id: z.string().max(64),
  message: z.string().min(1).max(4000),
  /** False when retrying cannot help (a corrupt input); Temporal's retry policy decides otherwise. */
  retryable: z.boolean().optional(),
  /** The agent stopped because the platform asked it to cancel. */
  cancelled: z.boolean().optional(),
});

/** An object the agent reads or writes for a task: a presigned URL, or the platform's own route. */
export interface TaskObject {
  key: string;
  url: string;
  /** True when the URL is the platform's: the agent sends its token with it. */
  platform: boolean;
  size_bytes?: number;
}

export interface AgentTask {
  id: string;
  kind: 'quantize' | 'benchmark';
  attempt: number;
  input: PoolTaskInput;
  inputs: Record<string, TaskObject>;
  outputs: Record<string, TaskObject>;
  heartbeat_every_seconds: number;
}

/** Where a quantized variant is written: `<outputPrefix>/<type>.gguf` (the device agents and the orchestrator agree on it). */
export function quantizedKey(outputPrefix: string, quantization: string): string {
  return `${outputPrefix.replace(/\/+$/, '')}/${quantization.toLowerCase()}.gguf`;
}

/**
 * Object access of a platform pool's worker (trainer, device agent on another machine): with the
 * job's storage grant (etg_…, carried in each activity's input) it asks the platform for a
 * short-lived URL per object, or for a listing, and never holds the object store's keys.
 */
const storageKey = z.string().min(1).max(1024);
export const storageBrokerSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('head'), key: storageKey }),
  z.strictObject({ op: z.literal('get'), key: storageKey }),
  z.strictObject({
    op: z.literal('put'),
    key: storageKey,
    size_bytes: z.number().int().min(0).max(5 * 1024 ** 4),
    /** Send in parts of this size (S3 stores; at least 5 MiB); absent: one PUT up to 512 MiB, parts of 64 MiB above. */
    part_bytes: z.number().int().min(5 * 1024 ** 2).max(5 * 1024 ** 3).optional(),
  }),
  z.strictObject({
    op: z.literal('complete'),
    key: storageKey,
    upload_id: z.string().min(1).max(1024),
    parts: z.array(z.strictObject({ part_number: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) })).min(1).max(10_000),
  }),
  z.strictObject({ op: z.literal('abort'), key: storageKey, upload_id: z.string().min(1).max(1024) }),
  z.strictObject({ op: z.literal('list'), prefix: storageKey }),
  z.strictObject({ op: z.literal('delete_prefix'), prefix: storageKey }),
]);
export type StorageBrokerRequest = z.infer<typeof storageBrokerSchema>;

/** Where to send one object's bytes: a presigned URL, or the platform's own route (send the grant with it). */
export interface BrokeredUrl {
  url: string;
  platform: boolean;
}

export type StorageBrokerResponse =
  | { key: string; size_bytes: number } // head, complete
  | ({ key: string; size_bytes: number } & BrokeredUrl) // get
  | ({ key: string } & BrokeredUrl) // put, one request
  | { key: string; upload_id: string; part_bytes: number; urls: string[] } // put, in parts
  | { objects: { key: string; size_bytes: number }[] } // list
  | { deleted: number } // delete_prefix
  | { aborted: true };
