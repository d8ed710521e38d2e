/**
 * The rules of budgets, free of any import so that workflow code (deterministic, bundled) can
 * use them; the schema that validates a caller's budgets is in budgets.ts.
 */

/** What a variant must meet to ship on a device (every field optional; absent = no bound). */
export interface Budgets {
  max_size_bytes?: number;
  max_peak_rss_bytes?: number;
  min_decode_tokens_per_second?: number;
  max_ttft_ms?: number;
  min_task_accuracy?: number;
  max_kl_divergence?: number;
}

export const budgetNames = ['max_size_bytes', 'max_peak_rss_bytes', 'min_decode_tokens_per_second', 'max_ttft_ms', 'min_task_accuracy', 'max_kl_divergence'] as const;

/** The budgets a target is held to: its profile's defaults, then the job's, then the target's own. */
export function effectiveBudgets(profileDefault: { maxSizeBytes: number; maxPeakRssBytes: number }, job?: Budgets | null, target?: Budgets | null): Budgets {
  const clean = (b?: Budgets | null) => Object.fromEntries(Object.entries(b ?? {}).filter(([, v]) => v !== undefined)) as Budgets;
  return { max_size_bytes: profileDefault.maxSizeBytes, max_peak_rss_bytes: profileDefault.maxPeakRssBytes, ...clean(job), ...clean(target) };
}

/** What a variant measured, as far as budgets look at it. */
export interface BudgetedMeasurement {
  sizeBytes: number;
  peakRssBytes: number;
  decodeTokensPerSecond: number;
  timeToFirstTokenMs: number;
  taskAccuracy: number;
  /** Null when quality against F16 was not measured. */
  klDivergenceMean: number | null;
}

export interface BrokenBudget {
  budget: keyof Budgets;
  limit: number;
  /** Null: the figure was not measured, so the budget cannot be shown to hold. */
  measured: number | null;
}

/** The budgets a measurement breaks, in the order of `budgetNames`. */
export function brokenBudgets(m: BudgetedMeasurement, b: Budgets): BrokenBudget[] {
  const out: BrokenBudget[] = [];
  const over = (budget: keyof Budgets, measured: number | null, limit: number | undefined, max: boolean) => {
    if (limit === undefined) return;
    if (measured === null || (max ? measured > limit : measured < limit)) out.push({ budget, limit, measured });
  };
  over('max_size_bytes', m.sizeBytes, b.max_size_bytes, true);
  over('max_peak_rss_bytes', m.peakRssBytes, b.max_peak_rss_bytes, true);
  over('min_decode_tokens_per_second', m.decodeTokensPerSecond, b.min_decode_tokens_per_second, false);
  over('max_ttft_ms', m.timeToFirstTokenMs, b.max_ttft_ms, true);
  over('min_task_accuracy', m.taskAccuracy, b.min_task_accuracy, false);
  over('max_kl_divergence', m.klDivergenceMean, b.max_kl_divergence, true);
  return out;
}

function figure(budget: keyof Budgets, v: number): string {
  if (budget.endsWith('_bytes')) return v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : `${v} bytes`;
  if (budget === 'min_task_accuracy') return `${(v * 100).toFixed(1)} %`;
  if (budget === 'max_ttft_ms') return `${v.toFixed(1)} ms`;
  if (budget === 'min_decode_tokens_per_second') return `${v.toFixed(1)} tok/s`;
  return v === 0 ? '0' : v.toPrecision(3);
}

/** "max_size_bytes: 4.54 MB measured, at most 3.00 MB allowed". */
export function describeBroken(b: BrokenBudget): string {
  const bound = b.budget.startsWith('max_') ? 'at most' : 'at least';
  const measured = b.measured === null ? 'not measured' : `${figure(b.budget, b.measured)} measured`;
  return `${b.budget}: ${measured}, ${bound} ${figure(b.budget, b.limit)} allowed`;
}
