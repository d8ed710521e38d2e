/**
 * What usage costs: a job's line items (training, benchmarks, storage), the organization's spend
 * this month, and the credits it got. Prices come from the organization's plan and, for
 * training, the model's price (catalog or TRAINING_PRICES); nothing here invents a figure.
 */
import { and, eq, gte, inArray, sum } from 'drizzle-orm';
import type { Plan } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { trainingPrice } from '@edgetune/datasets';
import { periodStart, planOf } from './account';

export interface CostLine {
  item: 'training' | 'benchmarks' | 'storage';
  quantity: number;
  unit: string;
  /** US cents per unit (per million tokens for training). */
  unitPriceMinor: number;
  amountMinor: number;
}

export interface JobCost {
  currency: 'usd';
  lines: CostLine[];
  totalMinor: number;
  credit: { amountMinor: number; reason: string; createdAt: Date } | null;
  /** What the organization owes for the job after the credit. */
  netMinor: number;
}

/** Cents per million training tokens of a model on a plan. */
export function trainingUnitPrice(plan: Plan, baseModel: string): number {
  return (trainingPrice(baseModel) ?? 0) * plan.prices.trainingPriceFactor;
}

const cents = (v: number) => Math.round(v * 100) / 100;

/**
 * What `quantity` of a metered usage kind costs on a plan, in cents: the one price list behind a
 * job's line items, the month's spend and the cap. Training is priced by its model.
 */
export function usageCharge(plan: Plan, kind: string, quantity: number, baseModel = ''): number {
  switch (kind) {
    case 'training_tokens':
      return (quantity / 1e6) * trainingUnitPrice(plan, baseModel);
    case 'benchmark_device_seconds':
      return (quantity / 60) * plan.prices.benchmarkPerDeviceMinuteMinor;
    case 'storage_gb_days':
      return quantity * plan.prices.storagePerGbDayMinor;
    case 'fleet_active_devices':
      // A daily count of active devices: a device active every day of a 30-day month costs the monthly price.
      return (quantity / 30) * plan.prices.fleetDevicePerMonthMinor;
    default:
      return 0;
  }
}

/** Line items of metered usage of one job. */
export function costLines(plan: Plan, baseModel: string, usage: Record<string, number>, storageGbDays: number): CostLine[] {
  const lines: CostLine[] = [];
  const tokens = usage.training_tokens ?? 0;
  const perM = trainingUnitPrice(plan, baseModel);
  lines.push({ item: 'training', quantity: tokens, unit: 'tokens', unitPriceMinor: perM, amountMinor: cents(usageCharge(plan, 'training_tokens', tokens, baseModel)) });
  const seconds = usage.benchmark_device_seconds ?? 0;
  lines.push({
    item: 'benchmarks',
    quantity: Math.round((seconds / 60) * 100) / 100,
    unit: 'device-minutes',
    unitPriceMinor: plan.prices.benchmarkPerDeviceMinuteMinor,
    amountMinor: cents(usageCharge(plan, 'benchmark_device_seconds', seconds)),
  });
  lines.push({
    item: 'storage',
    quantity: Math.round(storageGbDays * 1000) / 1000,
    unit: 'GB-days',
    unitPriceMinor: plan.prices.storagePerGbDayMinor,
    amountMinor: cents(usageCharge(plan, 'storage_gb_days', storageGbDays)),
  });
  return lines;
}

/** GB-days the job's published variants have been stored so far. */
async function jobStorageGbDays(orgId: string, jobId: string, now = Date.now(), tx: Db = db()): Promise<number> {
  const rows = await tx
    .select({ bytes: schema.modelVariants.sizeBytes, since: schema.modelVersions.createdAt })
    .from(schema.modelVariants)
    .innerJoin(schema.modelVersions, eq(schema.modelVersions.id, schema.modelVariants.versionId))
    .where(and(eq(schema.modelVariants.orgId, orgId), eq(schema.modelVersions.jobId, jobId)));
  return rows.reduce((s, r) => s + (r.bytes / 1024 ** 3) * Math.max(0, (now - r.since.getTime()) / 86_400_000), 0);
}

/** The actual cost of a job so far, with the credit it got (the caller scoped the job already). */
export async function jobCost(orgId: string, job: { id: string; baseModel: string }, tx: Db = db()): Promise<JobCost> {
  const plan = await planOf(orgId, tx);
  const usage = await tx
    .select({ kind: schema.usageRecords.kind, quantity: schema.usageRecords.quantity })
    .from(schema.usageRecords)
    .where(and(eq(schema.usageRecords.orgId, orgId), eq(schema.usageRecords.jobId, job.id)));
  const lines = costLines(plan, job.baseModel, Object.fromEntries(usage.map((u) => [u.kind, u.quantity])), await jobStorageGbDays(orgId, job.id, Date.now(), tx));
  const totalMinor = cents(lines.reduce((s, l) => s + l.amountMinor, 0));
  const [credit] = await tx
    .select()
    .from(schema.billingCredits)
    .where(and(eq(schema.billingCredits.orgId, orgId), eq(schema.billingCredits.jobId, job.id)))
    .limit(1);
  const c = credit ? { amountMinor: credit.amountMinor, reason: credit.reason, createdAt: credit.createdAt } : null;
  return { currency: 'usd', lines, totalMinor, credit: c, netMinor: cents(Math.max(0, totalMinor - (c?.amountMinor ?? 0))) };
}

/**
 * What the organization spent this calendar month: metered training and benchmarks of its jobs,
 * its daily storage and active fleet devices, less credits. Drives the spending cap.
 */
export async function spentThisMonth(orgId: string, tx: Db = db(), plan?: Plan): Promise<number> {
  plan ??= await planOf(orgId, tx);
  const since = periodStart();
  const rows = await tx
    .select({ kind: schema.usageRecords.kind, quantity: schema.usageRecords.quantity, baseModel: schema.jobs.baseModel })
    .from(schema.usageRecords)
    .leftJoin(schema.jobs, eq(schema.jobs.id, schema.usageRecords.jobId))
    .where(and(eq(schema.usageRecords.orgId, orgId), gte(schema.usageRecords.createdAt, since), inArray(schema.usageRecords.kind, ['training_tokens', 'benchmark_device_seconds', 'storage_gb_days', 'fleet_active_devices'])));
  const total = rows.reduce((sum, r) => sum + usageCharge(plan, r.kind, r.quantity, r.baseModel ?? ''), 0);
  const [credits] = await tx
    .select({ v: sum(schema.billingCredits.amountMinor) })
    .from(schema.billingCredits)
    .where(and(eq(schema.billingCredits.orgId, orgId), gte(schema.billingCredits.createdAt, since)));
  return cents(Math.max(0, total - Number(credits?.v ?? 0)));
}
