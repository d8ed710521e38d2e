import assert from 'node:assert/strict';
import { createReadStream, statSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, processAlive } from './test-env';
import { storage } from '@edgetune/storage';
import { isGguf, sha256File } from './files';
import { CancelledError, runChild } from './proc';
import { quantize, quantizedKey } from './quantize';

const SOURCE_KEY = 'test/jobs/q/model-f16.gguf';

test('quantize Q8_0 and Q4_K_M of the tiny LFM2 F16 GGUF', async () => {
  const f16 = fixture('EDGETUNE_TEST_GGUF');
  const store = storage();
  await store.put(SOURCE_KEY, createReadStream(f16));
  const f16Size = statSync(f16).size;
  const sizes: Record<string, number> = {};
  for (const q of ['Q8_0', 'Q4_K_M'] as const) {
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
    assert.ok(out.sizeBytes < f16Size, `${q} (${out.sizeBytes}) smaller than F16 (${f16Size})`);
    assert.ok(out.durationS > 0);
    sizes[q] = out.sizeBytes;
  }
  assert.ok(sizes.Q4_K_M! < sizes.Q8_0!, 'Q4_K_M smaller than Q8_0');

  // Idempotent: a rerun overwrites the same key and leaves no temp files behind.
  const again = await quantize({ jobId: 'job-test', device: 'x86_64-avx2', sourceKey: SOURCE_KEY, quantization: 'Q8_0', outputPrefix: 'test/jobs/q/variants' });
  assert.equal(again.sizeBytes, sizes.Q8_0);
  const listed = (await store.list('test/jobs/q/variants')).map((o) => o.key);
  assert.deepEqual(listed, ['test/jobs/q/variants/q4_k_m.gguf', 'test/jobs/q/variants/q8_0.gguf']);
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
