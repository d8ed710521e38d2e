import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchmarkOutput } from '@edgetune/temporal/activities';
import { selectVariant, type Candidate } from './select';

const bench = (taskAccuracy: number, peakRssBytes: number, decode = 100): BenchmarkOutput =>
  ({ taskAccuracy, peakRssBytes, decodeTokensPerSecond: decode } as BenchmarkOutput);
const budget = { maxSizeBytes: 1000, maxPeakRssBytes: 5000 };

test('picks the smallest variant that is about as accurate as the best', () => {
  const c: Candidate[] = [
    { quantization: 'Q8_0', sizeBytes: 800, benchmark: bench(0.95, 2000) },
    { quantization: 'Q4_K_M', sizeBytes: 400, benchmark: bench(0.94, 1500) },
  ];
  assert.equal(selectVariant(c, budget)?.selected, 'Q4_K_M');
});

test('keeps the larger variant when the small one loses accuracy', () => {
  const c: Candidate[] = [
    { quantization: 'Q8_0', sizeBytes: 800, benchmark: bench(0.95, 2000) },
    { quantization: 'Q4_K_M', sizeBytes: 400, benchmark: bench(0.7, 1500) },
  ];
  assert.equal(selectVariant(c, budget)?.selected, 'Q8_0');
});

test('respects size and memory budgets, and says when nothing fits', () => {
  const c: Candidate[] = [
    { quantization: 'Q8_0', sizeBytes: 1200, benchmark: bench(0.95, 2000) },
    { quantization: 'Q4_K_M', sizeBytes: 400, benchmark: bench(0.5, 9000) },
  ];
  assert.equal(selectVariant(c, budget), null);
  assert.equal(selectVariant(c, { maxSizeBytes: 2000, maxPeakRssBytes: 5000 })?.selected, 'Q8_0');
});
