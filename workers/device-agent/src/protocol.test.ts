import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildFlags, cpuTemperatureC, spreadStats, stdev, untilStable } from './protocol';

test('median, p10 and p90 interpolate between ranks; the spread is relative to the median', () => {
  const s = spreadStats([10, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(s, { median: 5.5, p10: 1.9, p90: 9.1, samples: 10, relativeSpread: (9.1 - 1.9) / 5.5 });
  assert.deepEqual(spreadStats([42]), { median: 42, p10: 42, p90: 42, samples: 1, relativeSpread: 0 });
  assert.throws(() => spreadStats([]), /no samples/);
  assert.equal(stdev([2, 4, 4, 4, 5, 5, 7, 9]).toFixed(4), '2.1381');
});

test('rounds continue until every figure is stable, or the repetition cap', async () => {
  // Noisy first round, steady afterwards: stops once the steady samples outweigh the noise.
  const noisy = [100, 60, 140, 100, 100];
  let calls = 0;
  const asked: number[] = [];
  const stable = await untilStable({ roundRepetitions: 5, maxSpread: 0.1, maxRepetitions: 40 }, async (n) => {
    asked.push(n);
    calls++;
    return { a: calls === 1 ? noisy : Array(n).fill(100), b: Array(n).fill(7) };
  });
  assert.equal(stable.converged, true);
  assert.ok(stable.rounds >= 2);
  assert.ok(spreadStats(stable.samples.a).relativeSpread <= 0.1);
  assert.equal(stable.samples.a.length, stable.samples.b.length);
  // Never stable: stops at the cap exactly, the last round asking only for what is left.
  let k = 0;
  const capped = await untilStable({ roundRepetitions: 5, maxSpread: 0.01, maxRepetitions: 12 }, async (n) => ({ a: Array.from({ length: n }, () => (k++ % 2 ? 50 : 150)) }));
  assert.equal(capped.converged, false);
  assert.equal(capped.samples.a.length, 12);
  assert.equal(capped.rounds, 3);
  assert.deepEqual(asked[0], 5);
});

test('temperature: the hottest zone the OS exposes; none where it exposes none', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'thermal-'));
  assert.equal(cpuTemperatureC(path.join(root, 'absent')), undefined);
  for (const [zone, milli] of [['thermal_zone0', '45000'], ['thermal_zone1', '61500'], ['thermal_zone2', 'garbage']]) {
    mkdirSync(path.join(root, zone));
    writeFileSync(path.join(root, zone, 'temp'), `${milli}\n`);
  }
  mkdirSync(path.join(root, 'cooling_device0'));
  assert.equal(cpuTemperatureC(root), 61.5);
});

test('build flags: the switches that pick kernels, not every backend default in the cache', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llama-'));
  assert.match(buildFlags(dir), /^unknown/);
  mkdirSync(path.join(dir, 'build'));
  writeFileSync(
    path.join(dir, 'build', 'CMakeCache.txt'),
    ['CMAKE_BUILD_TYPE:STRING=Release', 'GGML_NATIVE:BOOL=ON', 'GGML_AVX512:BOOL=OFF', 'GGML_OPENMP:BOOL=ON', 'GGML_SYCL_TARGET:STRING=INTEL', 'GGML_CUDA:BOOL=OFF', 'GGML_LIB_INSTALL_DIR:PATH=lib'].join('\n'),
  );
  assert.equal(buildFlags(dir), 'CMAKE_BUILD_TYPE=Release GGML_NATIVE GGML_OPENMP');
});
