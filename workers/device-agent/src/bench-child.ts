/**
 * Benchmark child: runs in its own node process (spawned by benchmark.ts) so that its peak RSS
 * (process.resourceUsage().maxRSS) is the honest footprint of serving this GGUF with
 * node-llama-cpp's prebuilt CPU runtime. Loads the model, formats prompts with the GGUF's own
 * `tokenizer.chat_template`, measures time to first token on a warm prompt and exact-match task
 * accuracy (greedy) on an eval JSONL in OpenAI chat format.
 *
 *   tsx bench-child.ts '<json BenchChildInput>'   → last stdout line: EDGETUNE_RESULT <json BenchChildOutput>
 */
import { readFileSync } from 'node:fs';
import { median, parseEvalJsonl, normalizeAnswer, type ChatMessage } from './evalset';
import { spreadStats } from './protocol';
import { getLlama, JinjaTemplateChatWrapper, LlamaLogLevel, LlamaText, type ChatHistoryItem, type LlamaModel, type Token } from 'node-llama-cpp';

export interface BenchChildInput {
  modelPath: string;
  evalPath: string;
  maxNewTokens: number;
  threads: number;
  /** Timed TTFT runs after `warmup` untimed ones; more, up to `ttftMaxRuns`, while their spread exceeds `maxSpread`. */
  ttftRuns: number;
  ttftMaxRuns?: number;
  maxSpread?: number;
  warmup: number;
  /** 0 = all examples. */
  evalLimit: number;
  contextSize: number;
}

export interface BenchChildOutput {
  timeToFirstTokenMs: number;
  ttftSamplesMs: number[];
  taskAccuracy: number;
  evalExamples: number;
  correct: number;
  peakRssBytes: number;
  /** RSS of the process before the model was loaded (node + runtime), for context. */
  baselineRssBytes: number;
  /** First eval prompt as rendered by the GGUF's chat template (special tokens shown). */
  renderedPrompt: string;
  promptTokens: number;
  /** The first eval prompt's token ids as the GGUF's template renders them (the parity check compares them). */
  promptTokenIds: number[];
  samples: { expected: string; got: string }[];
  runtime: string;
}

function toHistory(msgs: ChatMessage[]): ChatHistoryItem[] {
  const h: ChatHistoryItem[] = msgs.map((m): ChatHistoryItem => {
    if (m.role === 'system') return { type: 'system', text: m.content };
    if (m.role === 'user') return { type: 'user', text: m.content };
    if (m.role === 'assistant') return { type: 'model', response: [m.content] };
    throw new Error(`unsupported role ${m.role}`);
  });
  h.push({ type: 'model', response: [] });
  return h;
}

function endsWith(a: readonly Token[], b: readonly Token[]): boolean {
  if (b.length === 0 || a.length < b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[a.length - b.length + i] !== b[i]) return false;
  return true;
}

const progress = (p: Record<string, unknown>) => process.stdout.write(`EDGETUNE_PROGRESS ${JSON.stringify(p)}\n`);

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as BenchChildInput;
  const examples = parseEvalJsonl(readFileSync(input.evalPath, 'utf8'));
  const evalSet = input.evalLimit > 0 ? examples.slice(0, input.evalLimit) : examples;
  if (!evalSet.length) throw new Error(`${input.evalPath} has no examples`);

  const baselineRssBytes = process.memoryUsage.rss();
  const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error, progressLogs: false });
  const model: LlamaModel = await llama.loadModel({ modelPath: input.modelPath, gpuLayers: 0 });
  const template = model.fileInfo.metadata.tokenizer?.chat_template;
  if (typeof template !== 'string' || !template) {
    throw new Error('GGUF has no tokenizer.chat_template: prompts cannot be formatted as in training');
  }
  const wrapper = new JinjaTemplateChatWrapper({ template, tokenizer: model.tokenizer, trimLeadingWhitespaceInResponses: false });
  const context = await model.createContext({ contextSize: input.contextSize, threads: input.threads, sequences: 1 });
  const seq = context.getSequence();

  const render = (msgs: ChatMessage[]) => {
    const state = wrapper.generateContextState({ chatHistory: toHistory(msgs) });
    const tokens = state.contextText.tokenize(model.tokenizer);
    const stops = state.stopGenerationTriggers.map((t) => LlamaText(t).tokenize(model.tokenizer)).filter((t) => t.length > 0);
    return { tokens, stops };
  };

  /** Greedy generation from a cleared sequence; returns the text and the time to the first token. */
  const generate = async (msgs: ChatMessage[], maxTokens: number) => {
    const { tokens, stops } = render(msgs);
    await seq.clearHistory();
    const out: Token[] = [];
    const t0 = performance.now();
    let ttft = 0;
    for await (const tok of seq.evaluate(tokens, { temperature: 0 })) {
      if (out.length === 0) ttft = performance.now() - t0;
      if (model.isEogToken(tok)) break;
      out.push(tok);
      const stop = stops.find((s) => endsWith(out, s));
      if (stop) {
        out.splice(out.length - stop.length, stop.length);
        break;
      }
      if (out.length >= maxTokens) break;
    }
    return { text: model.detokenize(out), ttftMs: ttft, promptTokens: tokens.length };
  };

  // TTFT on a warm prompt: the first eval prompt, after warm-up runs; each run re-prefills it.
  const first = evalSet[0]!.prompt;
  for (let i = 0; i < input.warmup; i++) await generate(first, 1);
  const ttftSamplesMs: number[] = [];
  for (let i = 0; i < input.ttftRuns; i++) ttftSamplesMs.push((await generate(first, 1)).ttftMs);
  // The benchmark protocol: more runs while the spread is above the threshold, up to the cap.
  const cap = Math.max(input.ttftRuns, input.ttftMaxRuns ?? input.ttftRuns);
  while (ttftSamplesMs.length < cap && spreadStats(ttftSamplesMs).relativeSpread > (input.maxSpread ?? Infinity)) {
    ttftSamplesMs.push((await generate(first, 1)).ttftMs);
  }
  progress({ phase: 'ttft', medianMs: median(ttftSamplesMs) });

  let correct = 0;
  const samples: { expected: string; got: string }[] = [];
  for (let i = 0; i < evalSet.length; i++) {
    const ex = evalSet[i]!;
    const { text } = await generate(ex.prompt, input.maxNewTokens);
    if (normalizeAnswer(text) === normalizeAnswer(ex.reference)) correct++;
    if (samples.length < 5) samples.push({ expected: ex.reference, got: text });
    if (i % 10 === 9) progress({ phase: 'eval', done: i + 1, of: evalSet.length });
  }

  const { tokens } = render(first);
  const result: BenchChildOutput = {
    timeToFirstTokenMs: median(ttftSamplesMs),
    ttftSamplesMs,
    taskAccuracy: correct / evalSet.length,
    evalExamples: evalSet.length,
    correct,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    baselineRssBytes,
    renderedPrompt: model.detokenize(tokens, true),
    promptTokens: tokens.length,
    promptTokenIds: tokens.map(Number),
    samples,
    runtime: `node-llama-cpp ${llama.llamaCppRelease.release} (${llama.gpu || 'cpu'}, prebuilt=${llama.buildType})`,
  };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  process.stdout.write(`EDGETUNE_RESULT ${JSON.stringify(result)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
