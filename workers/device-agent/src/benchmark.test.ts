import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, processAlive } from './test-env';
import { benchmark, benchSettings } from './benchmark';
import { storage } from '@edgetune/storage';
import { parseEvalJsonl } from './evalset';
import { CancelledError } from './proc';
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

test('benchmark measures speed, latency, memory and task accuracy', async () => {
  const modelKey = await stage();
  // Lighter than production (5 reps, 7 TTFT runs, all threads) to keep the suite well under 3 min
  // on a shared 2-core CI box, where spinning thread barriers of oversubscribed cores dominate.
  const settings = { ...benchSettings(), threads: Number(process.env.BENCH_THREADS ?? 1), repetitions: 3, ttftRuns: 3, warmup: 1, evalLimit: 20 };
  const beats: unknown[] = [];
  const out = await benchmark({ jobId: 'job-b', device: 'x86_64-avx2', modelKey, evalKey: EVAL_KEY, maxNewTokens: 8 }, { heartbeat: (d) => beats.push(d) }, settings);
  console.log(JSON.stringify({ ...out, fingerprint: { cpuModel: out.fingerprint.cpuModel, cores: out.fingerprint.cores } }));
  assert.ok(out.prefillTokensPerSecond > 0);
  assert.ok(out.decodeTokensPerSecond > 0);
  assert.ok(out.prefillStdev >= 0 && out.decodeStdev >= 0);
  assert.ok(out.timeToFirstTokenMs > 0);
  assert.ok(out.peakRssBytes > 10 * 1024 * 1024);
  assert.ok(out.sizeBytes > 0);
  assert.ok(out.taskAccuracy >= 0 && out.taskAccuracy <= 1);
  assert.equal(out.evalExamples, Math.min(20, parseEvalJsonl(readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8')).length));
  assert.equal(out.repetitions, settings.repetitions);
  assert.equal(out.ttftSamplesMs.length, settings.ttftRuns);
  assert.ok(out.fingerprint.cores >= 1);
  // The prompt is rendered by the GGUF's own chat template (LFM2's ChatML with a leading BOS).
  const first = parseEvalJsonl(readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8'))[0]!;
  const expected = '<|startoftext|>' + first.prompt.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
  assert.equal(out.renderedPrompt, expected);
});

test('cancelling a benchmark kills its children', async () => {
  const modelKey = await stage();
  const ac = new AbortController();
  const pids: number[] = [];
  const p = benchmark(
    { jobId: 'job-b', device: 'x86_64-avx2', modelKey, evalKey: EVAL_KEY, maxNewTokens: 8 },
    { signal: ac.signal, onSpawn: (pid) => { pids.push(pid); setTimeout(() => ac.abort(), 200); } },
    { ...benchSettings(), threads: 1, repetitions: 50 },
  );
  await assert.rejects(p, CancelledError);
  assert.equal(pids.length, 1, 'no further child started after cancel');
  assert.equal(processAlive(pids[0]!), false);
});
