import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchmarkOutput } from '@edgetune/temporal/activities';
import { dominates, selectVariant, type Candidate } from './select';

const bench = (taskAccuracy: number, peakRssBytes: number, decode = 100, klMean: number | null = 0.01, ttft = 10): BenchmarkOutput =>
  ({
    taskAccuracy,
    peakRssBytes,
    decodeTokensPerSecond: decode,
    timeToFirstTokenMs: ttft,
    ...(klMean === null ? {} : { quality: { klDivergenceMean: klMean } }),
  }) as BenchmarkOutput;
const budgets = { max_size_bytes: 1000, max_peak_rss_bytes: 5000 };

test('picks the smallest variant that is about as accurate as the best', () => {
  const c: Candidate[] = [
    { quantization: 'Q8_0', sizeBytes: 800, benchmark: bench(0.95, 2000) },
    { quantization: 'Q4_K_M', sizeBytes: 400, benchmark: bench(0.94, 1500) },
  ];
  const s = selectVariant(c, budgets);
  assert.ok(s.ok);
  assert.equal(s.selected, 'Q4_K_M');
  assert.deepEqual(s.front.sort(), ['Q4_K_M', 'Q8_0']);
  assert.match(s.reason, /^Q4_K_M: the smallest file \(0\.00 MB\) of the 2 Pareto-optimal variants within 2 points of the best task accuracy \(95\.0 %\)/);
});

test('keeps the larger variant when the small one loses accuracy', () => {
  const c: Candidate[] = [
    { quantization: 'Q8_0', sizeBytes: 800, benchmark: bench(0.95, 2000) },
    { quantization: 'Q4_K_M', sizeBytes: 400, benchmark: bench(0.7, 1500) },
  ];
  const s = selectVariant(c, budgets);
  assert.ok(s.ok);
  assert.equal(s.selected, 'Q8_0');
});

test('a candidate beaten on every axis leaves the front, and the reason says by which', () => {
  const c: Candidate[] = [
    { quantization: 'F16', sizeBytes: 900, benchmark: bench(0.9, 2000, 50, 0) },
    { quantization: 'Q4_0', sizeBytes: 500, benchmark: bench(0.9, 1500, 120, 0.05) },
    // Larger, slower, further from F16 and no more accurate than Q4_0: dominated.
    { quantization: 'Q5_K_M', sizeBytes: 600, benchmark: bench(0.9, 1500, 110, 0.06) },
  ];
  assert.ok(dominates(c[1], c[2]));
  assert.ok(!dominates(c[1], c[0]), 'F16 is closer to itself');
  const s = selectVariant(c, { max_size_bytes: 10_000 });
  assert.ok(s.ok);
  assert.deepEqual(s.front, ['F16', 'Q4_0']);
  assert.deepEqual(s.dominated, [{ quantization: 'Q5_K_M', by: 'Q4_0' }]);
  assert.equal(s.selected, 'Q4_0');
  assert.match(s.reason, /1 was dominated \(Q5_K_M by Q4_0\)/);
});

test('equal sizes go to the lower KL-divergence', () => {
  const c: Candidate[] = [
    { quantization: 'Q4_0', sizeBytes: 500, benchmark: bench(0.9, 1500, 130, 0.08) },
    { quantization: 'IQ4_XS', sizeBytes: 500, benchmark: bench(0.9, 1500, 100, 0.03) },
  ];
  const s = selectVariant(c, {});
  assert.ok(s.ok);
  assert.equal(s.selected, 'IQ4_XS');
});

test('every budget is checked against what was measured', () => {
  const c: Candidate[] = [
    { quantization: 'F16', sizeBytes: 900, benchmark: bench(0.96, 2000, 40, 0, 30) },
    { quantization: 'Q8_0', sizeBytes: 500, benchmark: bench(0.95, 1200, 80, 0.002, 20) },
    { quantization: 'Q4_0', sizeBytes: 300, benchmark: bench(0.80, 900, 120, 0.2, 15) },
  ];
  const pick = (b: Parameters<typeof selectVariant>[1]) => {
    const s = selectVariant(c, b);
    return s.ok ? s.selected : null;
  };
  assert.equal(pick({}), 'Q8_0');
  assert.equal(pick({ max_size_bytes: 400 }), 'Q4_0');
  assert.equal(pick({ max_peak_rss_bytes: 1000 }), 'Q4_0');
  assert.equal(pick({ min_decode_tokens_per_second: 100 }), 'Q4_0');
  assert.equal(pick({ max_ttft_ms: 16 }), 'Q4_0');
  assert.equal(pick({ min_task_accuracy: 0.955 }), 'F16');
  assert.equal(pick({ max_kl_divergence: 0.001 }), 'F16');
  const s = selectVariant(c, { min_task_accuracy: 0.9 });
  assert.ok(s.ok);
  assert.deepEqual(s.rejected, [{ quantization: 'Q4_0', broken: [{ budget: 'min_task_accuracy', limit: 0.9, measured: 0.8 }] }]);
  assert.match(s.reason, /1 broke a budget \(Q4_0: min_task_accuracy\)/);
});

test('when nothing meets the budgets, each candidate is named with the budgets it broke', () => {
  const c: Candidate[] = [
    { quantization: 'Q8_0', sizeBytes: 4_540_000, benchmark: bench(0.95, 2000, 80) },
    { quantization: 'Q4_K_M', sizeBytes: 2_640_000, benchmark: bench(0.5, 9000, 90, null) },
  ];
  const s = selectVariant(c, { max_size_bytes: 3_000_000, max_peak_rss_bytes: 5000, max_kl_divergence: 0.5 }, 'x86_64-avx2');
  assert.equal(s.ok, false);
  assert.ok(!s.ok);
  assert.equal(
    s.message,
    'no quantization of the model meets the budgets of x86_64-avx2: ' +
      'Q8_0 (max_size_bytes: 4.54 MB measured, at most 3.00 MB allowed), ' +
      'Q4_K_M (max_peak_rss_bytes: 9000 bytes measured, at most 5000 bytes allowed; max_kl_divergence: not measured, at most 0.500 allowed)',
  );
  assert.equal(s.rejected.length, 2);
});
