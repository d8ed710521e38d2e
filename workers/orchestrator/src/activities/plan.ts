import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import { and, desc, eq, isNull, or } from 'drizzle-orm';
import * as pipeline from '@edgetune/api/pipeline';
import { loadConfig } from '@edgetune/config';
import {
  effectiveBudgets,
  findBaseModel,
  findDeviceProfile,
  preferenceAsChat,
  readJobSettings,
  trainingMaxSeqLen,
  type Budgets,
  type JobSettings,
  type PreferenceRecord,
} from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { CalibrationSample } from './calibration';
import { commonShingles, NearDuplicateIndex, promptText, shingles } from './near-duplicates';
import type { BaseModelRef, Hyperparameters, Quantization } from '@edgetune/temporal';

export interface JobPlan {
  baseModel: BaseModelRef;
  hyperparameters: Hyperparameters;
  trainingFileKey: string;
  validationFileKey: string | null;
  trainPool: string;
  targets: { device: string; pool: string; orgPool?: boolean; quantizations: Quantization[]; budgets: Budgets }[];
  /** Storage prefix of everything this job writes. */
  prefix: string;
  seed: number;
}

/**
 * The trainer's words for a job's stored settings. Nothing is filled in here: the settings are
 * complete (`readJobSettings` checks them, and completes rows stored before they were stored
 * whole through the catalog's one function).
 */
export function trainerSettings(s: JobSettings, job: { maxSeqLen: number; seed: number; gradientCheckpointing?: boolean }): Hyperparameters {
  return {
    method: s.method,
    objective: s.objective,
    ...(s.beta !== undefined ? { beta: s.beta } : {}),
    epochs: s.n_epochs,
    learningRate: s.learning_rate,
    batchSize: s.batch_size,
    loraRank: s.lora_rank,
    loraAlpha: s.lora_alpha,
    maxSeqLen: job.maxSeqLen,
    seed: job.seed,
    gradientCheckpointing: job.gradientCheckpointing ?? false,
  };
}

/** Everything the workflow needs to know about a job, resolved once from the database. */
export async function loadJobPlan(ref: { jobId: string; orgId: string }): Promise<JobPlan> {
  const job = await pipeline.loadJobRow(ref);
  const model = findBaseModel(job.baseModel);
  if (!model) throw new Error(`base model ${job.baseModel} is not in the catalog`);
  const fileKey = async (id: string) => {
    const f = await db().query.files.findFirst({ where: and(eq(schema.files.id, id), eq(schema.files.orgId, ref.orgId)) });
    if (!f) throw new Error(`file ${id} not found`);
    return f.storageKey;
  };
  const targets: JobPlan['targets'] = [];
  // Pools this organization may use: the platform's and its own.
  const usable = await db()
    .select()
    .from(schema.pools)
    .where(or(isNull(schema.pools.orgId), eq(schema.pools.orgId, ref.orgId)))
    .orderBy(desc(schema.pools.lastSeenAt));
  for (const device of job.targetDevices) {
    const profile = findDeviceProfile(device);
    if (!profile) throw new Error(`device profile ${device} is not in the catalog`);
    const target = (pool: (typeof usable)[number]) => ({
      device,
      pool: pool.id,
      ...(pool.orgId ? { orgPool: true } : {}),
      quantizations: job.quantizations ? profile.quantizations.filter((q) => job.quantizations!.includes(q)) : profile.quantizations,
      budgets: effectiveBudgets(profile.defaultBudget, job.budgets?.all, job.budgets?.targets?.[device]),
    });
    if (job.targetPools.length) {
      // Named pools: each one that serves the device (or whose agents have not said yet: the task waits for one).
      for (const id of job.targetPools) {
        const pool = usable.find((p) => p.id === id);
        if (!pool) throw ApplicationFailure.nonRetryable(`pool ${id} no longer exists`, 'PoolUnavailable');
        if (pool.profiles.length === 0 || pool.profiles.includes(device)) targets.push(target(pool));
      }
      continue;
    }
    const pool = usable.find((p) => p.orgId === null && p.kind === 'device' && p.profiles.includes(device));
    if (!pool) throw new Error(`no hardware pool serves ${device}`);
    targets.push(target(pool));
  }
  return {
    baseModel: { id: model.id, storagePrefix: model.storagePrefix, hubId: model.hubId, builtin: model.builtin, contextLength: model.contextLength },
    hyperparameters: trainerSettings(readJobSettings(model.id, job.hyperparameters), {
      maxSeqLen: trainingMaxSeqLen(model),
      seed: job.seed,
      gradientCheckpointing: job.memoryPlan?.gradientCheckpointing ?? false,
    }),
    trainingFileKey: await fileKey(job.trainingFileId),
    validationFileKey: job.validationFileId ? await fileKey(job.validationFileId) : null,
    trainPool: job.trainingPool ?? loadConfig().TRAIN_POOL,
    targets,
    prefix: `orgs/${ref.orgId}/jobs/${ref.jobId}`,
    seed: job.seed,
  };
}

/** The non-blank lines of a stored file, streamed (a dataset may be gigabytes). */
async function* readLines(key: string): AsyncGenerator<string> {
  const rl = createInterface({ input: await storage().get(key), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') yield line;
}

/** Stable per-line rank for a seeded split: the same file and seed always split the same way. */
function rank(seed: number, line: string, i: number): string {
  return createHash('sha256').update(`${seed}:${i}:${line}`).digest('hex');
}

export interface PreparedData {
  trainKey: string;
  evalKey: string;
  /**
   * The eval split as chat records, for the device benchmarks (which measure chat task accuracy):
   * for preference data, prompt + chosen; absent when the eval split is chat already.
   */
  chatEvalKey?: string;
  trainExamples: number;
  evalExamples: number;
  heldOutFromTraining: boolean;
  /** Held-out examples with a near-duplicate left in training (absent with a validation file). */
  heldOutNearDuplicates?: number;
  /** A bounded sample of the train split as plain text, for llama-imatrix (calibration.ts); absent from older jobs. */
  calibrationKey?: string;
}

const MAX_EVAL = 200;

/** Writes the lines `keep` selects to `key`, streaming; returns how many were written. */
async function writeLines(key: string, lines: AsyncIterable<string>, keep: (i: number, line: string) => boolean = () => true): Promise<number> {
  let n = 0;
  async function* out(): AsyncGenerator<string> {
    let i = 0;
    for await (const line of lines) {
      if (keep(i++, line)) {
        n++;
        yield line + '\n';
      }
    }
  }
  await storage().put(key, Readable.from(out()));
  return n;
}

/** Held-out candidates examined per example held out: room to skip those with near-duplicates. */
const CANDIDATES_PER_EVAL = 4;

/**
 * Fixes the train / eval split of a job. With a validation file it is the eval split; otherwise
 * a seeded 10 % (at least 1, at most 200 examples) of the training file is held out, in constant
 * memory whatever the file's size:
 *  1. every line gets a seeded rank; the lines with the smallest ranks are the candidates (four
 *     per example to hold out; a file's own order never matters);
 *  2. each candidate's near-duplicates in the rest of the file are found (near-duplicates.ts);
 *  3. candidates are taken in rank order together with their near-duplicates, so that a cluster
 *     stays on one side of the split; a cluster larger than half the eval split stays in
 *     training. Without near-duplicates this is exactly the smallest ranks. When clusters leave
 *     too few candidates (a file of a few templates), the rest is filled in rank order;
 *  4. the count of held-out examples that still have a near-duplicate in training is measured
 *     while the train split is written, and reported with the evaluation.
 */
export async function prepareDataset(input: {
  prefix: string;
  trainingFileKey: string;
  validationFileKey: string | null;
  seed: number;
  /** The files hold preference pairs (a DPO job): also write the eval split as chat. */
  preference?: boolean;
}): Promise<PreparedData> {
  const trainKey = `${input.prefix}/data/train.jsonl`;
  const evalKey = `${input.prefix}/data/eval.jsonl`;
  const calibrationKey = `${input.prefix}/data/calibration.txt`;
  const calibration = new CalibrationSample(input.seed);
  const withChat = async (data: PreparedData): Promise<PreparedData> => {
    await storage().put(calibrationKey, calibration.text());
    data = { ...data, calibrationKey };
    if (!input.preference) return data;
    const chatEvalKey = `${input.prefix}/data/eval-chat.jsonl`;
    await writeLines(chatEvalKey, chatLines(readLines(evalKey)));
    return { ...data, chatEvalKey };
  };
  if (input.validationFileKey) {
    const trainExamples = await writeLines(trainKey, readLines(input.trainingFileKey), (at, line) => {
      calibration.add(at, line);
      return true;
    });
    const evalExamples = await writeLines(evalKey, readLines(input.validationFileKey));
    return withChat({ trainKey, evalKey, trainExamples, evalExamples, heldOutFromTraining: false });
  }
  // 1. The smallest ranks seen so far, sorted ascending, with their prompts' shingles.
  const maxCandidates = MAX_EVAL * CANDIDATES_PER_EVAL;
  const smallest: { r: string; i: number; words: Set<number> }[] = [];
  let total = 0;
  for await (const line of readLines(input.trainingFileKey)) {
    const r = rank(input.seed, line, total);
    if (smallest.length < maxCandidates || r < smallest[smallest.length - 1].r) {
      let at = smallest.length;
      while (at > 0 && smallest[at - 1].r > r) at--;
      smallest.splice(at, 0, { r, i: total, words: shingles(promptText(line)) });
      if (smallest.length > maxCandidates) smallest.pop();
    }
    total++;
  }
  if (total < 2) throw new Error('the training file needs at least 2 examples to hold one out for evaluation');
  const nEval = Math.min(MAX_EVAL, Math.max(1, Math.round(total * 0.1)));
  const candidates = smallest.slice(0, Math.min(total, nEval * CANDIDATES_PER_EVAL));
  const common = commonShingles(smallest.map((c) => c.words));
  const index = new NearDuplicateIndex(common);
  const candidateAt = new Map<number, number>();
  for (const c of candidates) candidateAt.set(c.i, index.add(index.comparable(c.words)));

  // 2. Near-duplicates of each candidate: other candidates, and lines of the rest of the file
  // (at most `maxGroup` + 1 kept: a larger cluster is never moved).
  const maxGroup = Math.max(1, Math.ceil(nEval / 2));
  const linked = candidates.map((c, id) => index.matches(c.words).filter((o) => o !== id));
  const neighbours: number[][] = candidates.map(() => []);
  let i = 0;
  for await (const line of readLines(input.trainingFileKey)) {
    const at = i++;
    if (candidateAt.has(at)) continue;
    for (const id of index.matches(index.key(line))) if (neighbours[id].length <= maxGroup) neighbours[id].push(at);
  }

  // 3. Whole clusters, in rank order of their first candidate.
  const held = new Set<number>();
  const placed = new Set<number>();
  for (let id = 0; id < candidates.length && held.size < nEval; id++) {
    if (placed.has(id)) continue;
    const component = [id];
    placed.add(id);
    for (let k = 0; k < component.length; k++) {
      for (const o of linked[component[k]]) {
        if (!placed.has(o)) {
          placed.add(o);
          component.push(o);
        }
      }
    }
    const group = new Set<number>();
    for (const c of component) {
      group.add(candidates[c].i);
      for (const n of neighbours[c]) group.add(n);
    }
    if (group.size <= maxGroup && held.size + group.size <= nEval) for (const g of group) held.add(g);
  }
  for (const c of candidates) {
    if (held.size >= nEval) break;
    held.add(c.i);
  }

  // 4. The eval split first (its prompts become the index), then the train split, measured against it.
  const evalIndex = new NearDuplicateIndex(common);
  const evalExamples = await writeLines(evalKey, readLines(input.trainingFileKey), (at, line) => {
    if (!held.has(at)) return false;
    evalIndex.add(evalIndex.key(line));
    return true;
  });
  const withTwin = new Set<number>();
  const trainExamples = await writeLines(trainKey, readLines(input.trainingFileKey), (at, line) => {
    if (held.has(at)) return false;
    for (const id of evalIndex.matches(evalIndex.key(line))) withTwin.add(id);
    calibration.add(at, line);
    return true;
  });
  return withChat({ trainKey, evalKey, trainExamples, evalExamples, heldOutFromTraining: true, heldOutNearDuplicates: withTwin.size });
}

async function* chatLines(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) yield JSON.stringify(preferenceAsChat(JSON.parse(line) as PreferenceRecord));
}
