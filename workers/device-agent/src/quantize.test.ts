import assert from 'node:assert/strict';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, processAlive } from './test-env';
import { quantizations } from '@edgetune/contracts';
import { storage } from '@edgetune/storage';
import { isGguf, sha256File } from './files';
import { CancelledError, runChild } from './proc';
import { quantize, quantizedKey } from './quantize';

const SOURCE_KEY = 'test/jobs/q/model-f16.gguf';

test('quantize every candidate of the catalog from the tiny LFM2 F16 GGUF', async () => {
  const f16 = fixture('EDGETUNE_TEST_GGUF');
  const store = storage();
  await store.put(SOURCE_KEY, createReadStream(f16));
  const f16Size = statSync(f16).size;
  const sizes: Record<string, number> = {};
  for (const q of quantizations) {
    const beats: unknown[] = [];
    const out = await quantize(
      { jobId: 'job-test', device: 'x86_64-avx2', sourceKey: SOURCE_KEY, quantization: q, outputPrefix: 'test/jobs/q/variants/' },
      { heartbeat: (d) => beats.push(d) },
    );
    assert.equal(out.key, quantizedKey('test/jobs/q/variants', q));
    assert.equal(out.key, `test/jobs/q/variants/${q.toLowerCase()}.gguf`);
    const file = store.localPath(out.key)!;
    assert.equal(statSync(file).size, out.sizeBytes);
    assert.equal(await sha256File(file), out.sha256);
    assert.ok(await isGguf(file), 'GGUF magic');
    if (q === 'F16') assert.ok(Math.abs(out.sizeBytes - f16Size) < f16Size * 0.01, `F16 (${out.sizeBytes}) is the source's size (${f16Size})`);
    else assert.ok(out.sizeBytes < f16Size * 0.75, `${q} (${out.sizeBytes}) well under F16 (${f16Size})`);
    assert.ok(out.durationS > 0);
    sizes[q] = out.sizeBytes;
  }
  for (const q of ['Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0', 'IQ4_XS']) assert.ok(sizes[q]! < sizes.Q8_0!, `${q} (${sizes[q]}) smaller than Q8_0 (${sizes.Q8_0})`);

  // Idempotent: a rerun overwrites the same key and leaves no temp files behind.
  const again = await quantize({ jobId: 'job-test', device: 'x86_64-avx2', sourceKey: SOURCE_KEY, quantization: 'Q8_0', outputPrefix: 'test/jobs/q/variants' });
  assert.equal(again.sizeBytes, sizes.Q8_0);
  const listed = (await store.list('test/jobs/q/variants')).map((o) => o.key);
  assert.deepEqual(listed, quantizations.map((q) => `test/jobs/q/variants/${q.toLowerCase()}.gguf`).sort());
});

test('quantize fails clearly on a missing source', async () => {
  await assert.rejects(
    quantize({ jobId: 'j', device: 'd', sourceKey: 'test/nope/model.gguf', quantization: 'Q8_0', outputPrefix: 'test/nope/out' }),
    /No object at test\/nope\/model.gguf/,
  );
});

test('aborting kills the child process group', async () => {
  const ac = new AbortController();
  let pid = 0;
  const p = runChild('bash', ['-c', 'sleep 60 & wait'], { signal: ac.signal, onSpawn: (x) => (pid = x), label: 'sleeper' });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(pid > 0 && processAlive(pid));
  ac.abort();
  await assert.rejects(p, CancelledError);
  assert.equal(processAlive(pid), false);
});

test('K- and I-quants of a job with calibration text are quantized with its importance matrix', async () => {
  const store = storage();
  await store.put(SOURCE_KEY, createReadStream(fixture('EDGETUNE_TEST_GGUF')));
  // The calibration text: conversations of the eval fixture as the orchestrator writes them.
  const text = readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => `${(JSON.parse(l) as { messages: { content: string }[] }).messages.map((m) => m.content).join('\n')}\n\n`)
    .join('');
  await store.put('test/jobs/q/calibration.txt', text);
  const run = (quantization: 'Q4_K_M' | 'IQ4_XS' | 'Q8_0', calibrationKey?: string, prefix = 'test/jobs/q/imatrix') =>
    quantize({ jobId: 'job-test', device: 'x86_64-avx2', sourceKey: SOURCE_KEY, quantization, outputPrefix: prefix, ...(calibrationKey ? { calibrationKey } : {}) });
  const withM = await run('Q4_K_M', 'test/jobs/q/calibration.txt');
  const without = await run('Q4_K_M', undefined, 'test/jobs/q/plain');
  assert.ok(withM.imatrix, 'Q4_K_M records its importance matrix');
  assert.match(withM.imatrix.sha256, /^[0-9a-f]{64}$/);
  assert.equal(withM.imatrix.dataset, 'training sample');
  assert.ok(withM.imatrix.chunks >= 2 && withM.imatrix.calibrationTokens >= withM.imatrix.chunks * withM.imatrix.contextTokens);
  assert.equal(without.imatrix, undefined);
  assert.notEqual(withM.sha256, without.sha256, 'the importance matrix changes the quantized weights');
  // The same matrix serves every K- and I-quant of the job; Q8_0 does not use one.
  const iq = await run('IQ4_XS', 'test/jobs/q/calibration.txt');
  assert.equal(iq.imatrix?.sha256, withM.imatrix.sha256);
  assert.equal((await run('Q8_0', 'test/jobs/q/calibration.txt')).imatrix, undefined);
  // Too little text to calibrate on: quantized without, and the reason says so.
  await store.put('test/jobs/q/short.txt', 'route this ticket\n');
  const short = await run('Q4_K_M', 'test/jobs/q/short.txt', 'test/jobs/q/short');
  assert.equal(short.imatrix, undefined);
  assert.match(short.imatrixSkipped ?? '', /calibration sample of the training data has \d+ tokens; an importance matrix needs at least 64/);
  assert.equal(short.sha256, without.sha256);
});
