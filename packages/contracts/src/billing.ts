import { z } from 'zod';

/**
 * Plans as data: what an organization may use (quotas) and what it pays for what it uses
 * (prices). Billing code reads these; nothing else hard-codes a limit or a price.
 */
export const quotaKeys = ['training_tokens_per_month', 'stored_bytes', 'concurrent_jobs', 'fleet_devices', 'org_pools'] as const;
export type QuotaKey = (typeof quotaKeys)[number];

/** A quota's limit; null = unlimited. */
export type Quotas = Record<QuotaKey, number | null>;

export const quotaLabels: Record<QuotaKey, { name: string; unit: string }> = {
  training_tokens_per_month: { name: 'training tokens this month', unit: 'tokens' },
  stored_bytes: { name: 'stored data', unit: 'bytes' },
  concurrent_jobs: { name: 'concurrent fine-tuning jobs', unit: 'jobs' },
  fleet_devices: { name: 'enrolled fleet devices', unit: 'devices' },
  org_pools: { name: 'organization pools', unit: 'pools' },
};

/** Metered prices in US cents; training is priced per model (catalog or TRAINING_PRICES), the rest here. */
export interface Prices {
  /** Multiplies every model's training price (1 = list price; enterprise contracts lower it). */
  trainingPriceFactor: number;
  benchmarkPerDeviceMinuteMinor: number;
  storagePerGbDayMinor: number;
  fleetDevicePerMonthMinor: number;
}

export const planIds = ['free', 'payg', 'enterprise'] as const;
export type PlanId = (typeof planIds)[number];

export interface Plan {
  id: PlanId;
  name: string;
  summary: string;
  quotas: Quotas;
  prices: Prices;
}

const GB = 1024 ** 3;

export const plans: Record<PlanId, Plan> = {
  free: {
    id: 'free',
    name: 'Free',
    summary: 'Try the platform: small monthly quotas, no payment method needed.',
    quotas: { training_tokens_per_month: 2_000_000, stored_bytes: 5 * GB, concurrent_jobs: 1, fleet_devices: 10, org_pools: 1 },
    prices: { trainingPriceFactor: 0, benchmarkPerDeviceMinuteMinor: 0, storagePerGbDayMinor: 0, fleetDevicePerMonthMinor: 0 },
  },
  payg: {
    id: 'payg',
    name: 'Pay as you go',
    summary: 'Metered usage billed monthly through Stripe.',
    quotas: { training_tokens_per_month: null, stored_bytes: 1024 * GB, concurrent_jobs: 10, fleet_devices: 10_000, org_pools: 20 },
    prices: { trainingPriceFactor: 1, benchmarkPerDeviceMinuteMinor: 2, storagePerGbDayMinor: 1, fleetDevicePerMonthMinor: 10 },
  },
  enterprise: {
    id: 'enterprise',
    name: 'Enterprise',
    summary: 'Custom quotas and prices by contract.',
    quotas: { training_tokens_per_month: null, stored_bytes: null, concurrent_jobs: 50, fleet_devices: null, org_pools: null },
    prices: { trainingPriceFactor: 1, benchmarkPerDeviceMinuteMinor: 2, storagePerGbDayMinor: 1, fleetDevicePerMonthMinor: 10 },
  },
};

/** An enterprise contract's overrides, stored on the organization's billing account. */
export const customTermsSchema = z
  .object({
    quotas: z.object(Object.fromEntries(quotaKeys.map((k) => [k, z.number().int().min(0).nullable().optional()])) as Record<QuotaKey, z.ZodOptional<z.ZodNullable<z.ZodNumber>>>).strict().optional(),
    prices: z
      .object({
        trainingPriceFactor: z.number().min(0).max(10).optional(),
        benchmarkPerDeviceMinuteMinor: z.number().min(0).optional(),
        storagePerGbDayMinor: z.number().min(0).optional(),
        fleetDevicePerMonthMinor: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CustomTerms = z.infer<typeof customTermsSchema>;

/** The plan an organization is on, with its contract's overrides applied. */
export function effectivePlan(id: PlanId, custom?: CustomTerms | null): Plan {
  const base = plans[id];
  if (!custom) return base;
  const quotas = { ...base.quotas };
  for (const k of quotaKeys) if (custom.quotas?.[k] !== undefined) quotas[k] = custom.quotas[k] ?? null;
  return { ...base, quotas, prices: { ...base.prices, ...custom.prices } };
}

/** Usage kinds metered per job or per day; each becomes a Stripe Billing Meter event. */
export const usageKinds = ['training_tokens', 'benchmark_device_seconds', 'storage_gb_days', 'fleet_active_devices'] as const;
export type UsageKind = (typeof usageKinds)[number];

/**
 * Failure codes that are the platform's fault, not the customer's data, choices or own hardware
 * (`pool_unavailable`: the organization's pool had no agent): jobs that end with one are credited
 * automatically.
 */
export const platformFailureCodes: readonly string[] = ['internal_error', 'internal', 'unavailable'];

export const spendingCapSchema = z.object({
  /** US cents; null removes the cap. */
  monthly_cap: z.number().int().min(0).max(100_000_000).nullable(),
});
