import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, processAlive } from './test-env';
import { benchmark, benchSettings, parityMismatch, TemplateParityError } from './benchmark';
import { llamaTool } from './config';
import { storage } from '@edgetune/storage';
import { parseEvalJsonl } from './evalset';
import { CancelledError, runChild } from './proc';
import { quantize } from './quantize';

const F16_KEY = 'test/jobs/b/model-f16.gguf';
const EVAL_KEY = 'test/jobs/b/eval.jsonl';

async function stage(): Promise<string> {
  const store = storage();
  await store.put(F16_KEY, createReadStream(fixture('EDGETUNE_TEST_GGUF')));
  await store.put(EVAL_KEY, createReadStream(fixture('EDGETUNE_TEST_EVAL_JSONL')));
  const q = await quantize({ jobId: 'job-b', device: 'x86_64-avx2', sourceKey: F16_KEY, quantization: 'Q8_0', outputPrefix: 'test/jobs/b/variants' });
  return q.key;
}

async function llamaTokenize(model: string, text: string): Promise<number[]> {
  const { stdout } = await runChild(llamaTool('llama-tokenize'), ['-m', model, '-p', text, '--ids', '--no-bos', '--log-disable']);
  const line = stdout.split('\n').filter((l) => l.startsWith('[')).at(-1) ?? '[]';
  return JSON.parse(line) as number[];
}

test('benchmark measures speed, latency, memory and task accuracy', async () => {
  const modelKey = await stage();
  // Lighter than production (5 reps, 7 TTFT runs, all threads) to keep the suite well under 3 min
  // on a shared 2-core CI box, where spinning thread barriers of oversubscribed cores dominate.
  const settings = { ...benchSettings(), threads: Number(process.env.BENCH_THREADS ?? 1), repetitions: 3, ttftRuns: 3, warmup: 1, evalLimit: 20 };
  const beats: unknown[] = [];
  const first = parseEvalJsonl(readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8'))[0]!;
  const expected = '<|startoftext|>' + first.prompt.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
  // What training renders for that prompt, tokenized by llama.cpp's own tokenizer (the trainer's
  // tests check it equals the HF tokenizer's ids): the parity check's expectation.
  const expectedIds = await llamaTokenize(fixture('EDGETUNE_TEST_GGUF'), expected);
  const out = await benchmark(
    { jobId: 'job-b', device: 'x86_64-avx2', modelKey, evalKey: EVAL_KEY, maxNewTokens: 8, expectedPromptTokenIds: expectedIds },
    { heartbeat: (d) => beats.push(d) },
    settings,
  );
  console.log(JSON.stringify({ ...out, fingerprint: { cpuModel: out.fingerprint.cpuModel, cores: out.fingerprint.cores } }));
  assert.ok(out.prefillTokensPerSecond > 0);
  assert.ok(out.decodeTokensPerSecond > 0);
  assert.ok(out.prefillStdev >= 0 && out.decodeStdev >= 0);
  assert.ok(out.timeToFirstTokenMs > 0);
  assert.ok(out.peakRssBytes > 10 * 1024 * 1024);
  assert.ok(out.sizeBytes > 0);
  assert.ok(out.taskAccuracy >= 0 && out.taskAccuracy <= 1);
  assert.equal(out.evalExamples, Math.min(20, parseEvalJsonl(readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8')).length));
  // The protocol: rounds of 3 until both speed figures are stable (or the cap); medians reported with their spread.
  const pr = out.protocol!;
  assert.ok(pr, 'the protocol is recorded');
  assert.equal(out.prefillTokensPerSecond, pr.prefill.median);
  assert.equal(out.decodeTokensPerSecond, pr.decode.median);
  for (const f of [pr.prefill, pr.decode, pr.ttftMs]) assert.ok(f.p10 <= f.median && f.median <= f.p90 && f.samples >= 1);
  // Time to first token: at least the configured runs, more while its spread is above the threshold.
  assert.ok(pr.ttftMs.samples >= settings.ttftRuns && pr.ttftMs.samples <= settings.maxRepetitions);
  assert.ok(pr.ttftMs.relativeSpread <= settings.maxSpread || pr.ttftMs.samples === settings.maxRepetitions);
  assert.ok(pr.prefill.samples >= settings.repetitions && pr.prefill.samples <= settings.maxRepetitions);
  assert.equal(pr.prefill.samples, Math.min(pr.rounds * settings.repetitions, settings.maxRepetitions));
  // Speed rounds stop early only once prefill and decode are stable; `converged` says all three figures are.
  const stable = (f: { relativeSpread: number }) => f.relativeSpread <= settings.maxSpread;
  if (pr.prefill.samples < settings.maxRepetitions) assert.ok(stable(pr.prefill) && stable(pr.decode), 'stops only when stable or at the cap');
  assert.equal(pr.converged, stable(pr.prefill) && stable(pr.decode) && stable(pr.ttftMs));
  assert.equal(out.repetitions, Math.min(pr.prefill.samples, pr.decode.samples));
  assert.match(out.environment?.buildFlags ?? '', /^llama\.cpp .*CMAKE_BUILD_TYPE=Release/);
  assert.equal(out.ttftSamplesMs.length, pr.ttftMs.samples);
  assert.ok(out.fingerprint.cores >= 1);
  // The prompt is rendered by the GGUF's own chat template (LFM2's ChatML with a leading BOS).
  assert.equal(out.renderedPrompt, expected);
  assert.deepEqual(out.templateParity, { promptTokens: expectedIds.length });
});

test('a GGUF whose template renders the prompt differently from training fails the benchmark, saying where', async () => {
  const modelKey = await stage();
  const first = parseEvalJsonl(readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8'))[0]!;
  // Training rendered no system turn: the ids differ from the GGUF's render after the BOS and <|im_start|>.
  const trained = '<|startoftext|>' + first.prompt.filter((m) => m.role !== 'system').map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
  const ids = await llamaTokenize(fixture('EDGETUNE_TEST_GGUF'), trained);
  await assert.rejects(
    benchmark(
      { jobId: 'job-b', device: 'x86_64-avx2', modelKey, evalKey: EVAL_KEY, maxNewTokens: 2, expectedPromptTokenIds: ids },
      {},
      { ...benchSettings(), threads: 1, repetitions: 1, ttftRuns: 1, warmup: 0, evalLimit: 1 },
    ),
    (e: unknown) => e instanceof TemplateParityError && /training rendered \d+; they first differ at token 2 \(GGUF: id \d+, training: id \d+\)/.test(e.message),
  );
  assert.equal(parityMismatch([1, 2, 3], [1, 2, 3]), null);
  assert.match(parityMismatch([1, 2, 3], [1, 2]) ?? '', /renders the first evaluation prompt as 2 tokens, training rendered 3; they first differ at token 2 \(GGUF: the end, training: id 3\)/);
});

test('cancelling a benchmark kills its children', async () => {
  const modelKey = await stage();
  const ac = new AbortController();
  const pids: number[] = [];
  const p = benchmark(
    { jobId: 'job-b', device: 'x86_64-avx2', modelKey, evalKey: EVAL_KEY, maxNewTokens: 8 },
    // Cancel while the first child runs: 20 ms is less than llama-bench takes to load the model,
    // where 200 ms let a fast first round finish and the next child start before the cancel.
    { signal: ac.signal, onSpawn: (pid) => { pids.push(pid); setTimeout(() => ac.abort(), 20); } },
    { ...benchSettings(), threads: 1, repetitions: 50 },
  );
  await assert.rejects(p, CancelledError);
  assert.equal(pids.length, 1, 'no further child started after cancel');
  assert.equal(processAlive(pids[0]!), false);
});
