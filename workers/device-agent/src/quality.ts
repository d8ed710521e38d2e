/**
 * Quality of a quantized variant against the F16 reference, measured with llama.cpp's own
 * instrument: `llama-perplexity --kl-divergence-base` stores the reference's token distributions
 * over the job's evaluation text once, and `--kl-divergence` compares a variant's distributions
 * with them (mean and p99 KL-divergence, same-top-token %, perplexity ratio).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { VariantQuality } from '@edgetune/temporal/activities';
import { llamaTool } from './config';
import type { ChatMessage } from './evalset';
import { runChild } from './proc';
import type { ActivityHooks } from './quantize';
import { cachedFile } from './tool-cache';

export interface QualitySettings {
  threads: number;
  /** Largest context per chunk; smaller when the evaluation text is short. */
  contextTokens: number;
  /** At most this many chunks are scored (bounds the time and the reference's logits file). */
  maxChunks: number;
}

/** Below this context a perplexity window says little; a shorter evaluation text is not scored. */
export const MIN_CONTEXT_TOKENS = 32;
/** The evaluation text handed to llama-perplexity is bounded whatever the split's size. */
export const MAX_TEXT_CHARS = 1_000_000;

/** The evaluation split as plain text: each conversation's turns, then its reference answer. */
export function evalText(examples: { prompt: ChatMessage[]; reference: string }[]): string {
  let text = '';
  for (const ex of examples) {
    const block = `${ex.prompt.map((m) => m.content).join('\n')}\n${ex.reference}\n\n`;
    if (text.length + block.length > MAX_TEXT_CHARS) break;
    text += block;
  }
  return text;
}

/**
 * llama-perplexity prints no KL-divergence statistics over fewer than 100 scored positions, and it
 * scores the second half of each chunk but its last position: ctx / 2 - 1 per chunk.
 */
export const MIN_SCORED_POSITIONS = 100;

/**
 * The context per chunk and the chunks to score for a text of `tokens` tokens: the largest power
 * of two up to `maxContext` that still gives four chunks (two when the text is short) and, when
 * `minScored` is given, that many scored positions. Null when the text is too short for any.
 */
export function chooseContext(tokens: number, maxContext: number, maxChunks: number, minScored = 0): { contextTokens: number; chunks: number } | null {
  const sizes: number[] = [];
  for (let ctx = MIN_CONTEXT_TOKENS; ctx <= maxContext; ctx *= 2) sizes.unshift(ctx);
  for (const minChunks of [4, 2]) {
    for (const ctx of sizes) {
      const chunks = Math.min(Math.floor(tokens / ctx), maxChunks);
      if (chunks >= minChunks && chunks * (ctx / 2 - 1) >= minScored) return { contextTokens: ctx, chunks };
    }
  }
  return null;
}

/** The fewest tokens `chooseContext` accepts with these bounds (for saying why a text is too short). */
export function minimumTokens(maxContext: number, maxChunks: number, minScored = 0): number {
  let n = 2 * MIN_CONTEXT_TOKENS;
  while (n < 1e6 && !chooseContext(n, maxContext, maxChunks, minScored)) n++;
  return n;
}

/** The reference run's own perplexity (`Final estimate: PPL = …`). */
export function parseFinalPerplexity(out: string): number {
  const m = /Final estimate: PPL = ([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/.exec(out);
  const v = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(v)) throw new Error(`llama-perplexity printed no final perplexity: ${out.slice(-800)}`);
  return v;
}

/**
 * Numbers of the `--kl-divergence` run's summary (llama.cpp's tools/perplexity). Its
 * `PPL(base)` is recomputed from the reference's stored 16-bit log-probabilities, which clamp
 * very unlikely tokens; the caller uses the reference run's own perplexity instead.
 */
export function parseKlDivergence(out: string): Omit<VariantQuality, 'reference' | 'referencePerplexity' | 'perplexityRatio' | 'evalTokens' | 'contextTokens' | 'chunks'> {
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(out);
    const v = m ? Number(m[1]) : NaN;
    if (!Number.isFinite(v)) throw new Error(`llama-perplexity printed no ${what}: ${out.slice(-800)}`);
    return v;
  };
  const f = String.raw`([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)`;
  // KL-divergence is never negative; the tool's tiny negative values are the rounding of the
  // 16-bit logits it stores for the reference.
  const kl = (v: number) => Math.max(0, v);
  return {
    klDivergenceMean: kl(num(new RegExp(String.raw`^Mean\s+KLD:\s+${f}`, 'm'), 'mean KLD')),
    klDivergenceP99: kl(num(new RegExp(String.raw`^99\.0%\s+KLD:\s+${f}`, 'm'), '99th percentile KLD')),
    sameTopTokenPercent: num(new RegExp(String.raw`^Same top p:\s+${f}`, 'm'), 'same-top-token share'),
    perplexity: num(new RegExp(String.raw`^Mean PPL\(Q\)\s+:\s+${f}`, 'm'), 'perplexity of the variant'),
  };
}

export async function countTokens(modelPath: string, textPath: string, hooks: ActivityHooks): Promise<number> {
  const { stdout } = await runChild(llamaTool('llama-tokenize'), ['-m', modelPath, '-f', textPath, '--ids', '--show-count', '--log-disable'], {
    signal: hooks.signal,
    label: 'llama-tokenize',
    onSpawn: hooks.onSpawn,
  });
  const m = /Total number of tokens:\s*(\d+)/.exec(stdout);
  if (!m) throw new Error(`llama-tokenize printed no token count: ${stdout.slice(-300)}`);
  return Number(m[1]);
}

/** Runs of a tool whose summary went missing, before giving up. */
const SUMMARY_ATTEMPTS = 3;

/**
 * llama-perplexity, parsed by `parse`. Its summary is written by llama.cpp's logger, a singleton
 * left running at exit on purpose, whose worker thread may not flush the last lines before the
 * process ends (llama.cpp issue 22142; seen here on a loaded machine): a run whose summary is
 * missing is run again.
 */
async function perplexityRun<T>(label: string, args: string[], parse: (out: string) => T, hooks: ActivityHooks): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { stdout, stderr } = await runChild(llamaTool('llama-perplexity'), args, { signal: hooks.signal, heartbeat: hooks.heartbeat, label, onSpawn: hooks.onSpawn });
    try {
      return parse(`${stdout}\n${stderr}`);
    } catch (e) {
      if (attempt >= SUMMARY_ATTEMPTS) throw new Error(`${(e as Error).message} (after ${attempt} runs)`);
      hooks.log?.(`${label}: its summary was not in the output; running it again`, { attempt });
    }
  }
}

export interface QualityInput {
  modelPath: string;
  /** Resolves the reference GGUF to a local file; called only when its logits are not cached. */
  referencePath: () => Promise<string>;
  /** Identifies the reference and the evaluation text (object keys and sizes): the cache key. */
  identity: string;
  examples: { prompt: ChatMessage[]; reference: string }[];
  scratch: string;
}

/**
 * Measures a variant against the reference on the evaluation text. Returns the reason instead
 * when the text is too short to score.
 */
export async function measureQuality(input: QualityInput, s: QualitySettings, hooks: ActivityHooks = {}): Promise<{ quality: VariantQuality } | { skipped: string }> {
  const textPath = path.join(input.scratch, 'quality-eval.txt');
  await writeFile(textPath, evalText(input.examples));
  const tokens = await countTokens(input.modelPath, textPath, hooks);
  const plan = chooseContext(tokens, s.contextTokens, s.maxChunks, MIN_SCORED_POSITIONS);
  if (!plan) {
    return {
      skipped: `the evaluation split has ${tokens} tokens; quality against F16 needs at least ${minimumTokens(s.contextTokens, s.maxChunks, MIN_SCORED_POSITIONS)}`,
    };
  }
  const chunks = plan.chunks;
  const common = ['-c', String(plan.contextTokens), '-b', String(plan.contextTokens), '--chunks', String(chunks), '-t', String(s.threads)];

  const reference = await cachedFile(`kl-base\n${input.identity}\n${tokens}\n${common.join(' ')}`, '.kld', async (tmp) => {
    const args = ['-m', await input.referencePath(), '-f', textPath, ...common, '--kl-divergence-base', tmp];
    return { perplexity: await perplexityRun('llama-perplexity (F16 reference)', args, parseFinalPerplexity, hooks) };
  });
  const referencePerplexity = reference.meta.perplexity;
  const args = ['-m', input.modelPath, ...common, '--kl-divergence-base', reference.path, '--kl-divergence'];
  const numbers = await perplexityRun('llama-perplexity --kl-divergence', args, parseKlDivergence, hooks);
  return {
    quality: {
      reference: 'F16',
      ...numbers,
      referencePerplexity,
      perplexityRatio: numbers.perplexity / referencePerplexity,
      evalTokens: tokens,
      contextTokens: plan.contextTokens,
      chunks,
    },
  };
}
