import { z } from 'zod';

/**
 * What a variant must meet to ship on a device. A job sets them for every target (`budgets`) and
 * may override them per target device (`target_budgets`); a device profile's size and memory
 * defaults apply where neither does. Every bound is checked against what the pool measured.
 */
export const budgetsSchema = z
  .object({
    max_size_bytes: z.number().int().min(1).max(2 ** 50).optional().meta({ description: 'Largest GGUF file, in bytes' }),
    max_peak_rss_bytes: z.number().int().min(1).max(2 ** 50).optional().meta({ description: 'Largest peak resident memory while serving, in bytes' }),
    min_decode_tokens_per_second: z.number().positive().max(1e7).optional().meta({ description: 'Slowest acceptable decode speed (median), tokens per second' }),
    max_ttft_ms: z.number().positive().max(1e7).optional().meta({ description: 'Longest acceptable time to first token, in milliseconds' }),
    min_task_accuracy: z.number().min(0).max(1).optional().meta({ description: 'Lowest acceptable task accuracy on the evaluation split, 0..1' }),
    max_kl_divergence: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .meta({ description: "Largest acceptable mean KL-divergence from the F16 reference on the evaluation split (a variant whose quality could not be measured does not meet it)" }),
  })
  .strict();
export type BudgetsInput = z.infer<typeof budgetsSchema>;
export * from './budget-rules';
import type { Budgets } from './budget-rules';

// The schema and the rules' type agree field for field.
const _same: Required<BudgetsInput> extends Required<Budgets> ? (Required<Budgets> extends Required<BudgetsInput> ? true : never) : never = true;
void _same;

/** What a job stores: budgets for every target, and overrides per target device. */
export interface JobBudgets {
  all?: Budgets;
  targets?: Record<string, Budgets>;
}
