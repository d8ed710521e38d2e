import type { BenchmarkOutput, Quantization } from '@edgetune/temporal/activities';

export interface Candidate {
  quantization: Quantization;
  sizeBytes: number;
  benchmark: BenchmarkOutput;
}

/** Accuracy within this much of the best candidate counts as "as good" when picking the smallest. */
export const ACCURACY_TOLERANCE = 0.02;

/**
 * Picks the variant to ship on a device: among candidates within the device's budgets, the
 * smallest file whose task accuracy is within ACCURACY_TOLERANCE of the most accurate one
 * (decode speed breaks ties), with the numbers that chose it. Returns null when nothing fits the budgets.
 */
export function selectVariant(
  candidates: Candidate[],
  budget: { maxSizeBytes: number; maxPeakRssBytes: number },
): { selected: Quantization; bestTaskAccuracy: number; tolerance: number } | null {
  const fitting = candidates.filter((c) => c.sizeBytes <= budget.maxSizeBytes && c.benchmark.peakRssBytes <= budget.maxPeakRssBytes);
  if (fitting.length === 0) return null;
  const best = Math.max(...fitting.map((c) => c.benchmark.taskAccuracy));
  const good = fitting.filter((c) => c.benchmark.taskAccuracy >= best - ACCURACY_TOLERANCE);
  good.sort((a, b) => a.sizeBytes - b.sizeBytes || b.benchmark.decodeTokensPerSecond - a.benchmark.decodeTokensPerSecond);
  const pick = good[0];
  return { selected: pick.quantization, bestTaskAccuracy: best, tolerance: ACCURACY_TOLERANCE };
}
