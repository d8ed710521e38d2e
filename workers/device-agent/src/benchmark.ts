import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchmarkInput, BenchmarkOutput, FigureSpread } from '@edgetune/temporal/activities';
import type { BenchChildInput, BenchChildOutput } from './bench-child';
import { storage, type Storage } from '@edgetune/storage';
import { loadConfig } from '@edgetune/config';
import { envFraction, envInt, llamaTool } from './config';
import { parseEvalJsonl } from './evalset';
import { isGguf, localCopy, tempDir } from './files';
import { fingerprint } from './fingerprint';
import { runChild } from './proc';
import { buildFlags, cpuTemperatureC, spreadStats, stdev, untilStable } from './protocol';
import { exclusively } from './machine-lock';
import { measureQuality } from './quality';
import type { ActivityHooks } from './quantize';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface BenchSettings {
  threads: number;
  /** llama-bench: prompt tokens, generated tokens, repetitions per round. */
  promptTokens: number;
  genTokens: number;
  repetitions: number;
  /** Rounds continue until every speed figure's (p90 - p10) / median is at most this, or... */
  maxSpread: number;
  /** ...this many repetitions were measured. */
  maxRepetitions: number;
  ttftRuns: number;
  warmup: number;
  evalLimit: number;
  contextSize: number;
  /** Quality against the reference: largest context per chunk, most chunks scored. */
  qualityContextTokens: number;
  qualityMaxChunks: number;
}

export function benchSettings(): BenchSettings {
  return {
    threads: envInt('BENCH_THREADS', 0) || os.availableParallelism(),
    promptTokens: envInt('BENCH_PROMPT_TOKENS', 64),
    genTokens: envInt('BENCH_GEN_TOKENS', 32),
    repetitions: envInt('BENCH_REPETITIONS', 5),
    maxSpread: envFraction('BENCH_MAX_SPREAD', 0.1),
    maxRepetitions: envInt('BENCH_MAX_REPETITIONS', 20),
    ttftRuns: envInt('BENCH_TTFT_RUNS', 7),
    warmup: envInt('BENCH_WARMUP', 2),
    evalLimit: envInt('BENCH_EVAL_LIMIT', 0),
    contextSize: envInt('BENCH_CONTEXT_SIZE', 2048),
    qualityContextTokens: envInt('BENCH_QUALITY_CONTEXT', 512),
    qualityMaxChunks: envInt('BENCH_QUALITY_CHUNKS', 16),
  };
}

interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  samples_ts?: number[];
}

/** Tokens per second of every repetition of one llama-bench run: prefill (pp) and decode (tg). */
export function parseLlamaBench(stdout: string): { prefill: number[]; decode: number[] } {
  const start = stdout.indexOf('[');
  if (start < 0) throw new Error(`llama-bench printed no JSON: ${stdout.slice(0, 500)}`);
  const rows = JSON.parse(stdout.slice(start)) as LlamaBenchRow[];
  const pp = rows.find((r) => r.n_prompt > 0 && r.n_gen === 0);
  const tg = rows.find((r) => r.n_gen > 0 && r.n_prompt === 0);
  if (!pp || !tg) throw new Error('llama-bench output lacks a prefill (pp) or decode (tg) row');
  // Builds before per-repetition samples existed report only the mean: one sample then.
  return { prefill: pp.samples_ts?.length ? pp.samples_ts : [pp.avg_ts], decode: tg.samples_ts?.length ? tg.samples_ts : [tg.avg_ts] };
}

export interface LlamaBenchResult {
  prefillTokensPerSecond: number;
  prefillStdev: number;
  decodeTokensPerSecond: number;
  decodeStdev: number;
  prefill: FigureSpread;
  decode: FigureSpread;
  converged: boolean;
  rounds: number;
}

/**
 * llama-bench in rounds (each warms up, then times `repetitions` runs) until prefill and decode
 * are stable (protocol.ts); the figures reported are the medians of all samples.
 */
export async function runLlamaBench(modelPath: string, s: BenchSettings, hooks: ActivityHooks = {}): Promise<LlamaBenchResult> {
  const tool = llamaTool('llama-bench');
  const run = await untilStable({ roundRepetitions: s.repetitions, maxSpread: s.maxSpread, maxRepetitions: s.maxRepetitions }, async (reps) => {
    const args = ['-m', modelPath, '-p', String(s.promptTokens), '-n', String(s.genTokens), '-r', String(reps), '-t', String(s.threads), '-o', 'json'];
    const { stdout } = await runChild(tool, args, { signal: hooks.signal, heartbeat: hooks.heartbeat, label: 'llama-bench', onSpawn: hooks.onSpawn });
    return parseLlamaBench(stdout);
  });
  const prefill = spreadStats(run.samples.prefill);
  const decode = spreadStats(run.samples.decode);
  return {
    prefillTokensPerSecond: prefill.median,
    prefillStdev: stdev(run.samples.prefill),
    decodeTokensPerSecond: decode.median,
    decodeStdev: stdev(run.samples.decode),
    prefill,
    decode,
    converged: run.converged,
    rounds: run.rounds,
  };
}

function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
  }
}

/** `node --import <tsx> bench-child.ts <json>`: a separate process so its maxRSS is its own. */
export async function runBenchChild(input: BenchChildInput, hooks: ActivityHooks = {}): Promise<BenchChildOutput> {
  const tsx = tsxLoader();
  const script = path.join(here, 'bench-child.ts');
  let result: BenchChildOutput | null = null;
  await runChild(process.execPath, ['--import', tsx, script, JSON.stringify(input)], {
    signal: hooks.signal,
    heartbeat: hooks.heartbeat,
    label: 'bench-child',
    onSpawn: hooks.onSpawn,
    env: { ...process.env, NODE_OPTIONS: '' },
    onStdoutLine: (line) => {
      if (line.startsWith('EDGETUNE_RESULT ')) result = JSON.parse(line.slice('EDGETUNE_RESULT '.length)) as BenchChildOutput;
      else if (line.startsWith('EDGETUNE_PROGRESS ')) hooks.log?.('benchmark progress', JSON.parse(line.slice('EDGETUNE_PROGRESS '.length)));
    },
  });
  if (!result) throw new Error('bench-child exited without a result');
  return result;
}

/** The GGUF's template renders the prompt differently from training: what the device runs is not what was trained. */
export class TemplateParityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateParityError';
  }
}

/** Null when the ids agree; else where and how they first differ. */
export function parityMismatch(expected: readonly number[], got: readonly number[]): string | null {
  const n = Math.min(expected.length, got.length);
  let i = 0;
  while (i < n && expected[i] === got[i]) i++;
  if (i === n && expected.length === got.length) return null;
  const at = (ids: readonly number[]) => (i < ids.length ? `id ${ids[i]}` : 'the end');
  return (
    `chat template parity: the GGUF's chat template renders the first evaluation prompt as ${got.length} tokens, training rendered ${expected.length}; ` +
    `they first differ at token ${i} (GGUF: ${at(got)}, training: ${at(expected)})`
  );
}

export interface BenchmarkDetails extends BenchmarkOutput {
  ttftSamplesMs: number[];
  baselineRssBytes: number;
  renderedPrompt: string;
  runtime: string;
}

/**
 * Measures a GGUF on this machine: llama-bench for prefill/decode throughput (repeated, mean +
 * stdev), then the node-llama-cpp child for time to first token (median of warm runs), task
 * accuracy on the eval split and peak RSS, then (given a reference) KL-divergence against the
 * F16 on the eval split's text. None of them runs at the same time as another.
 */
export async function benchmark(input: BenchmarkInput, hooks: ActivityHooks = {}, settings: BenchSettings = benchSettings(), store: Storage = storage()): Promise<BenchmarkDetails> {
  const scratch = await tempDir('bench');
  try {
    const modelPath = await localCopy(store, input.modelKey, scratch.dir);
    if (!(await isGguf(modelPath))) throw new Error(`${input.modelKey} is not a GGUF file`);
    const evalPath = await localCopy(store, input.evalKey, scratch.dir);
    const { size } = await stat(modelPath);
    // Downloads happen outside the lock; the measurements never overlap another benchmark on this machine.
    return await exclusively('benchmark', async () => {
      hooks.log?.('benchmark started', { modelKey: input.modelKey, device: input.device, threads: settings.threads });
      const temperatureBefore = cpuTemperatureC();
      const { prefill, decode, converged, rounds, ...bench } = await runLlamaBench(modelPath, settings, hooks);
      hooks.log?.('llama-bench done', { ...bench, prefill, decode, converged, rounds });
      const child = await runBenchChild(
        {
          modelPath,
          evalPath,
          maxNewTokens: input.maxNewTokens,
          threads: settings.threads,
          ttftRuns: settings.ttftRuns,
          ttftMaxRuns: settings.maxRepetitions,
          maxSpread: settings.maxSpread,
          warmup: settings.warmup,
          evalLimit: settings.evalLimit,
          contextSize: settings.contextSize,
        },
        hooks,
      );
      let parity: Pick<BenchmarkOutput, 'templateParity'> = {};
      if (input.expectedPromptTokenIds) {
        const mismatch = parityMismatch(input.expectedPromptTokenIds, child.promptTokenIds);
        if (mismatch) throw new TemplateParityError(`${mismatch}; the GGUF rendered ${JSON.stringify(child.renderedPrompt.slice(0, 300))}`);
        parity = { templateParity: { promptTokens: child.promptTokenIds.length } };
      }
      let quality: Pick<BenchmarkOutput, 'quality' | 'qualitySkipped'> = {};
      if (input.referenceKey) {
        const referenceKey = input.referenceKey;
        const examples = parseEvalJsonl(await readFile(evalPath, 'utf8'));
        const [ref, ev] = await Promise.all([store.head(referenceKey), store.head(input.evalKey)]);
        if (!ref) throw new Error(`No object at ${referenceKey} (the F16 reference)`);
        const q = await measureQuality(
          {
            modelPath,
            referencePath: async () => {
              const p = await localCopy(store, referenceKey, scratch.dir);
              if (!(await isGguf(p))) throw new Error(`${referenceKey} is not a GGUF file`);
              return p;
            },
            identity: `${referenceKey}:${ref.sizeBytes}\n${input.evalKey}:${ev?.sizeBytes ?? 0}`,
            examples, // the whole split: the chunk cap bounds the work
            scratch: scratch.dir,
          },
          { threads: settings.threads, contextTokens: settings.qualityContextTokens, maxChunks: settings.qualityMaxChunks },
          hooks,
        );
        quality = 'quality' in q ? { quality: q.quality } : { qualitySkipped: q.skipped };
        hooks.log?.('quality against F16', quality);
      }
      const temperatureAfter = cpuTemperatureC();
      const temperatures = [temperatureBefore, temperatureAfter].filter((t): t is number => t !== undefined);
      const out: BenchmarkDetails = {
        ...bench,
        timeToFirstTokenMs: child.timeToFirstTokenMs,
        peakRssBytes: child.peakRssBytes,
        sizeBytes: size,
        taskAccuracy: child.taskAccuracy,
        evalExamples: child.evalExamples,
        threads: settings.threads,
        repetitions: Math.min(prefill.samples, decode.samples),
        fingerprint: fingerprint(),
        protocol: {
          prefill,
          decode,
          ttftMs: spreadStats(child.ttftSamplesMs),
          converged: converged && spreadStats(child.ttftSamplesMs).relativeSpread <= settings.maxSpread,
          maxSpread: settings.maxSpread,
          maxRepetitions: settings.maxRepetitions,
          rounds,
          warmup: settings.warmup,
        },
        environment: {
          // The hottest reading before and after measuring (where the OS exposes one): throttling shows here.
          ...(temperatures.length ? { temperatureC: Math.max(...temperatures) } : {}),
          buildFlags: `llama.cpp ${buildFlags(loadConfig().LLAMA_CPP_DIR)}`,
          runtime: child.runtime,
        },
        ttftSamplesMs: child.ttftSamplesMs,
        baselineRssBytes: child.baselineRssBytes,
        renderedPrompt: child.renderedPrompt,
        runtime: child.runtime,
        ...parity,
        ...quality,
      };
      hooks.log?.('benchmark done', { modelKey: input.modelKey, ...out, fingerprint: undefined, renderedPrompt: undefined });
      return out;
    }, hooks);
  } finally {
    await scratch.cleanup();
  }
}
