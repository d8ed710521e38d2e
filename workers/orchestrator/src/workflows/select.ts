import type { BenchmarkOutput, Quantization } from '@edgetune/temporal/activities';
import { brokenBudgets, describeBroken, type BrokenBudget, type Budgets } from '@edgetune/contracts/budget-rules';

export interface Candidate {
  quantization: Quantization;
  sizeBytes: number;
  benchmark: BenchmarkOutput;
}

/** Accuracy within this much of the best candidate counts as "as good" when picking the smallest. */
export const ACCURACY_TOLERANCE = 0.02;

export interface Selection {
  selected: Quantization;
  budgets: Budgets;
  /** Candidates that meet every budget and that no other such candidate beats on every axis. */
  front: Quantization[];
  /** Candidates that meet every budget but another one is at least as good on every axis and better on one. */
  dominated: { quantization: Quantization; by: Quantization }[];
  rejected: { quantization: Quantization; broken: BrokenBudget[] }[];
  bestTaskAccuracy: number;
  tolerance: number;
  reason: string;
}

export type SelectionOutcome = ({ ok: true } & Selection) | { ok: false; rejected: Selection['rejected']; message: string };

const kl = (c: Candidate) => c.benchmark.quality?.klDivergenceMean ?? null;
/** For comparisons: a variant whose quality was not measured counts as the worst. */
const klRank = (c: Candidate) => kl(c) ?? Number.POSITIVE_INFINITY;

/** a is at least as good as b on size, task accuracy, KL-divergence and decode speed, and better on one. */
export function dominates(a: Candidate, b: Candidate): boolean {
  const ab = a.benchmark;
  const bb = b.benchmark;
  const noWorse = a.sizeBytes <= b.sizeBytes && ab.taskAccuracy >= bb.taskAccuracy && klRank(a) <= klRank(b) && ab.decodeTokensPerSecond >= bb.decodeTokensPerSecond;
  const better = a.sizeBytes < b.sizeBytes || ab.taskAccuracy > bb.taskAccuracy || klRank(a) < klRank(b) || ab.decodeTokensPerSecond > bb.decodeTokensPerSecond;
  return noWorse && better;
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * The documented rule that picks the variant to ship on a device:
 *  1. a candidate that breaks any budget is out (a budget on a figure that was not measured is broken);
 *  2. of the rest, the Pareto front over file size (smaller), task accuracy (higher), mean
 *     KL-divergence from F16 (lower) and decode speed (higher);
 *  3. on the front, the candidates within ACCURACY_TOLERANCE of the front's best task accuracy;
 *  4. of those the smallest file; equal sizes go to the lower KL-divergence, then the faster decode.
 * When no candidate meets the budgets, the outcome names, for each, the budgets it broke.
 */
export function selectVariant(candidates: Candidate[], budgets: Budgets, device = 'the device'): SelectionOutcome {
  const rejected: Selection['rejected'] = [];
  const meeting: Candidate[] = [];
  for (const c of candidates) {
    const broken = brokenBudgets(
      {
        sizeBytes: c.sizeBytes,
        peakRssBytes: c.benchmark.peakRssBytes,
        decodeTokensPerSecond: c.benchmark.decodeTokensPerSecond,
        timeToFirstTokenMs: c.benchmark.timeToFirstTokenMs,
        taskAccuracy: c.benchmark.taskAccuracy,
        klDivergenceMean: kl(c),
      },
      budgets,
    );
    if (broken.length) rejected.push({ quantization: c.quantization, broken });
    else meeting.push(c);
  }
  if (meeting.length === 0) {
    const each = rejected.map((r) => `${r.quantization} (${r.broken.map(describeBroken).join('; ')})`).join(', ');
    return { ok: false, rejected, message: `no quantization of the model meets the budgets of ${device}: ${each}` };
  }

  const dominated: Selection['dominated'] = [];
  const front: Candidate[] = [];
  for (const c of meeting) {
    const by = meeting.find((o) => o !== c && dominates(o, c));
    if (by) dominated.push({ quantization: c.quantization, by: by.quantization });
    else front.push(c);
  }
  const best = Math.max(...front.map((c) => c.benchmark.taskAccuracy));
  const good = front.filter((c) => c.benchmark.taskAccuracy >= best - ACCURACY_TOLERANCE);
  good.sort((a, b) => a.sizeBytes - b.sizeBytes || klRank(a) - klRank(b) || b.benchmark.decodeTokensPerSecond - a.benchmark.decodeTokensPerSecond);
  const pick = good[0];

  const others = [
    rejected.length ? `${rejected.length} broke a budget (${rejected.map((r) => `${r.quantization}: ${r.broken.map((b) => b.budget).join(', ')}`).join('; ')})` : '',
    dominated.length ? `${dominated.length} ${dominated.length === 1 ? 'was' : 'were'} dominated (${dominated.map((d) => `${d.quantization} by ${d.by}`).join(', ')})` : '',
  ].filter(Boolean);
  const k = kl(pick);
  const reason =
    `${pick.quantization}: the smallest file (${mb(pick.sizeBytes)}) of the ${good.length} Pareto-optimal ` +
    `${good.length === 1 ? 'variant' : 'variants'} within ${ACCURACY_TOLERANCE * 100} points of the best task accuracy (${pct(best)}) among those meeting every budget` +
    ` — task accuracy ${pct(pick.benchmark.taskAccuracy)}, KL-divergence from F16 ${k === null ? 'not measured' : k === 0 ? '0' : k.toPrecision(2)}, decode ${pick.benchmark.decodeTokensPerSecond.toFixed(0)} tok/s` +
    (others.length ? `; ${others.join('; ')}` : '');
  return {
    ok: true,
    selected: pick.quantization,
    budgets,
    front: front.map((c) => c.quantization),
    dominated,
    rejected,
    bestTaskAccuracy: best,
    tolerance: ACCURACY_TOLERANCE,
    reason,
  };
}
