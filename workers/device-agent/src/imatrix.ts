/**
 * The importance matrix of a job's F16, computed with `llama-imatrix` on the job's calibration
 * text (a bounded sample of the customer's training data): llama-quantize weighs each weight's
 * rounding error by how much the customer's data activates it. Used for the K- and I-quants;
 * computed once per job on this machine and reused by each of them.
 */
import os from 'node:os';
import type { ImatrixInfo, Quantization } from '@edgetune/temporal/activities';
import { envInt, llamaTool } from './config';
import { sha256File } from './files';
import { runChild } from './proc';
import { chooseContext, countTokens, minimumTokens } from './quality';
import type { ActivityHooks } from './quantize';
import { cachedFile } from './tool-cache';

/** The types quantized with the importance matrix; F16, Q8_0 and Q4_0 are quantized without it. */
export const IMATRIX_QUANTIZATIONS: ReadonlySet<Quantization> = new Set<Quantization>(['Q6_K', 'Q5_K_M', 'Q4_K_M', 'IQ4_XS']);

export interface ImatrixSettings {
  threads: number;
  contextTokens: number;
  maxChunks: number;
}

export function imatrixSettings(): ImatrixSettings {
  // The benchmark's thread setting; 0 or unset: every core.
  const threads = envInt('BENCH_THREADS', 0) || os.availableParallelism();
  return { threads, contextTokens: envInt('IMATRIX_CONTEXT', 512, 1), maxChunks: envInt('IMATRIX_CHUNKS', 64, 1) };
}

export interface ImatrixInput {
  sourcePath: string;
  /** Local file of the calibration text. */
  calibrationPath: string;
  /** Identifies the source and the calibration text (object keys and sizes): the cache key. */
  identity: string;
  scratch: string;
}

/** The importance matrix file and what it was computed on, or why there is none. */
export async function importanceMatrix(
  input: ImatrixInput,
  s: ImatrixSettings,
  hooks: ActivityHooks = {},
): Promise<{ path: string; info: ImatrixInfo } | { skipped: string }> {
  const tokens = await countTokens(input.sourcePath, input.calibrationPath, hooks);
  const plan = chooseContext(tokens, s.contextTokens, s.maxChunks);
  if (!plan) return { skipped: `the calibration sample of the training data has ${tokens} tokens; an importance matrix needs at least ${minimumTokens(s.contextTokens, s.maxChunks)}` };
  const chunks = plan.chunks;
  const args = ['-c', String(plan.contextTokens), '-b', String(plan.contextTokens), '--chunks', String(chunks), '-t', String(s.threads)];
  const m = await cachedFile(`imatrix\n${input.identity}\n${tokens}\n${args.join(' ')}`, '.imatrix', async (tmp) => {
    await runChild(llamaTool('llama-imatrix'), ['-m', input.sourcePath, '-f', input.calibrationPath, ...args, '-o', tmp, '--output-format', 'gguf', '--no-ppl'], {
      signal: hooks.signal,
      heartbeat: hooks.heartbeat,
      label: 'llama-imatrix',
      onSpawn: hooks.onSpawn,
    });
    const info: ImatrixInfo = { sha256: await sha256File(tmp), dataset: 'training sample', calibrationTokens: tokens, contextTokens: plan.contextTokens, chunks };
    return info;
  });
  return { path: m.path, info: m.meta };
}
