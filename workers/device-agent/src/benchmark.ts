import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchmarkInput, BenchmarkOutput } from '@edgetune/temporal/activities';
import type { BenchChildInput, BenchChildOutput } from './bench-child';
import { storage, type Storage } from '@edgetune/storage';
import { llamaTool } from './config';
import { parseEvalJsonl } from './evalset';
import { isGguf, localCopy, tempDir } from './files';
import { fingerprint } from './fingerprint';
import { runChild } from './proc';
import { measureQuality } from './quality';
import type { ActivityHooks } from './quantize';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface BenchSettings {
  threads: number;
  /** llama-bench: prompt tokens, generated tokens, repetitions. */
  promptTokens: number;
  genTokens: number;
  repetitions: number;
  ttftRuns: number;
  warmup: number;
  evalLimit: number;
  contextSize: number;
  /** Quality against the reference: largest context per chunk, most chunks scored. */
  qualityContextTokens: number;
  qualityMaxChunks: number;
}

function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`Invalid configuration:\n  ${name}: must be a non-negative integer`);
  return n;
}

export function benchSettings(): BenchSettings {
  return {
    threads: intEnv('BENCH_THREADS', 0) || os.availableParallelism(),
    promptTokens: intEnv('BENCH_PROMPT_TOKENS', 64),
    genTokens: intEnv('BENCH_GEN_TOKENS', 32),
    repetitions: intEnv('BENCH_REPETITIONS', 5),
    ttftRuns: intEnv('BENCH_TTFT_RUNS', 7),
    warmup: intEnv('BENCH_WARMUP', 2),
    evalLimit: intEnv('BENCH_EVAL_LIMIT', 0),
    contextSize: intEnv('BENCH_CONTEXT_SIZE', 2048),
    qualityContextTokens: intEnv('BENCH_QUALITY_CONTEXT', 512),
    qualityMaxChunks: intEnv('BENCH_QUALITY_CHUNKS', 16),
  };
}

interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  stddev_ts: number;
}

export interface LlamaBenchResult {
  prefillTokensPerSecond: number;
  prefillStdev: number;
  decodeTokensPerSecond: number;
  decodeStdev: number;
}

export function parseLlamaBench(stdout: string): LlamaBenchResult {
  const start = stdout.indexOf('[');
  if (start < 0) throw new Error(`llama-bench printed no JSON: ${stdout.slice(0, 500)}`);
  const rows = JSON.parse(stdout.slice(start)) as LlamaBenchRow[];
  const pp = rows.find((r) => r.n_prompt > 0 && r.n_gen === 0);
  const tg = rows.find((r) => r.n_gen > 0 && r.n_prompt === 0);
  if (!pp || !tg) throw new Error('llama-bench output lacks a prefill (pp) or decode (tg) row');
  return { prefillTokensPerSecond: pp.avg_ts, prefillStdev: pp.stddev_ts, decodeTokensPerSecond: tg.avg_ts, decodeStdev: tg.stddev_ts };
}

export async function runLlamaBench(modelPath: string, s: BenchSettings, hooks: ActivityHooks = {}): Promise<LlamaBenchResult> {
  const tool = llamaTool('llama-bench');
  const args = ['-m', modelPath, '-p', String(s.promptTokens), '-n', String(s.genTokens), '-r', String(s.repetitions), '-t', String(s.threads), '-o', 'json'];
  const { stdout } = await runChild(tool, args, { signal: hooks.signal, heartbeat: hooks.heartbeat, label: 'llama-bench', onSpawn: hooks.onSpawn });
  return parseLlamaBench(stdout);
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
    hooks.log?.('benchmark started', { modelKey: input.modelKey, device: input.device, threads: settings.threads });
    const bench = await runLlamaBench(modelPath, settings, hooks);
    hooks.log?.('llama-bench done', { ...bench });
    const child = await runBenchChild(
      {
        modelPath,
        evalPath,
        maxNewTokens: input.maxNewTokens,
        threads: settings.threads,
        ttftRuns: settings.ttftRuns,
        warmup: settings.warmup,
        evalLimit: settings.evalLimit,
        contextSize: settings.contextSize,
      },
      hooks,
    );
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
    const out: BenchmarkDetails = {
      ...bench,
      timeToFirstTokenMs: child.timeToFirstTokenMs,
      peakRssBytes: child.peakRssBytes,
      sizeBytes: size,
      taskAccuracy: child.taskAccuracy,
      evalExamples: child.evalExamples,
      threads: settings.threads,
      repetitions: settings.repetitions,
      fingerprint: fingerprint(),
      ttftSamplesMs: child.ttftSamplesMs,
      baselineRssBytes: child.baselineRssBytes,
      renderedPrompt: child.renderedPrompt,
      runtime: child.runtime,
      ...quality,
    };
    hooks.log?.('benchmark done', { modelKey: input.modelKey, ...out, fingerprint: undefined, renderedPrompt: undefined });
    return out;
  } finally {
    await scratch.cleanup();
  }
}
