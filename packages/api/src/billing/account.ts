/**
 * An organization's plan, quotas and use of them. With billing off (no STRIPE_SECRET_KEY), every
 * organization is on the self-hosted terms: the operator's QUOTAS, list prices for estimates.
 */
import { and, count, eq, gte, isNull, notInArray, sql, sum } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { DomainError, effectivePlan, plans, quotaKeys, quotaLabels, terminalStatuses, type Plan, type QuotaKey, type Quotas } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';

export type BillingAccountRow = typeof schema.billingAccounts.$inferSelect;

export function billingEnabled(): boolean {
  return Boolean(loadConfig().STRIPE_SECRET_KEY);
}

/** The operator's quotas of a self-hosted install: QUOTAS, unlimited where it says nothing. */
export function configuredQuotas(): Quotas {
  const out = Object.fromEntries(quotaKeys.map((k) => [k, null])) as Quotas;
  for (const pair of loadConfig().QUOTAS?.split(',') ?? []) {
    const [k, v] = pair.split('=');
    if ((quotaKeys as readonly string[]).includes(k)) out[k as QuotaKey] = Number(v);
  }
  return out;
}

const selfHosted = (): Plan => ({
  ...plans.payg,
  id: 'enterprise',
  name: 'Self-hosted',
  summary: 'Billing is off on this installation; only the quotas its operator configured apply.',
  quotas: configuredQuotas(),
});

export async function billingAccount(orgId: string, tx: Db = db()): Promise<BillingAccountRow | null> {
  const [row] = await tx.select().from(schema.billingAccounts).where(eq(schema.billingAccounts.orgId, orgId)).limit(1);
  return row ?? null;
}

/** The account row, created (free plan) if the organization has none yet. */
export async function ensureBillingAccount(orgId: string): Promise<BillingAccountRow> {
  await db().insert(schema.billingAccounts).values({ orgId }).onConflictDoNothing();
  return (await billingAccount(orgId))!;
}

/** The terms an organization is on now. */
export async function planOf(orgId: string, tx: Db = db()): Promise<Plan> {
  if (!billingEnabled()) return selfHosted();
  const account = await billingAccount(orgId, tx);
  return effectivePlan(account?.plan ?? 'free', account?.customTerms);
}

/** The first instant of the current calendar month (UTC): quotas and the spending cap reset then. */
export function periodStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** How much of a quota the organization uses now. */
export async function quotaUse(orgId: string, key: QuotaKey, tx: Db = db()): Promise<number> {
  const n = (v: unknown) => Number(v ?? 0);
  switch (key) {
    case 'training_tokens_per_month': {
      // Tokens of the jobs that ended this month (metered then); the concurrency quota bounds what runs meanwhile.
      const [metered] = await tx
        .select({ v: sum(schema.usageRecords.quantity) })
        .from(schema.usageRecords)
        .where(and(eq(schema.usageRecords.orgId, orgId), eq(schema.usageRecords.kind, 'training_tokens'), gte(schema.usageRecords.createdAt, periodStart())));
      return n(metered?.v);
    }
    case 'stored_bytes': {
      const [files] = await tx.select({ v: sum(schema.files.bytes) }).from(schema.files).where(eq(schema.files.orgId, orgId));
      const [variants] = await tx.select({ v: sum(schema.modelVariants.sizeBytes) }).from(schema.modelVariants).where(eq(schema.modelVariants.orgId, orgId));
      return n(files?.v) + n(variants?.v);
    }
    case 'concurrent_jobs': {
      const [r] = await tx
        .select({ v: count() })
        .from(schema.jobs)
        .where(and(eq(schema.jobs.orgId, orgId), notInArray(schema.jobs.status, [...terminalStatuses])));
      return n(r?.v);
    }
    case 'fleet_devices': {
      const [r] = await tx.select({ v: count() }).from(schema.fleetDevices).where(and(eq(schema.fleetDevices.orgId, orgId), isNull(schema.fleetDevices.revokedAt)));
      return n(r?.v);
    }
    case 'org_pools': {
      const [r] = await tx.select({ v: count() }).from(schema.pools).where(eq(schema.pools.orgId, orgId));
      return n(r?.v);
    }
  }
}

export function formatQuantity(key: QuotaKey, v: number): string {
  if (key === 'stored_bytes') return v >= 1024 ** 3 ? `${(v / 1024 ** 3).toFixed(2)} GB` : `${(v / 1024 ** 2).toFixed(1)} MB`;
  const unit = quotaLabels[key].unit;
  return `${v.toLocaleString('en-US')} ${v === 1 ? unit.replace(/s$/, '') : unit}`;
}

/** The error for a quota that `adding` more would pass, naming the quota, its limit and the use. */
function quotaError(plan: Plan, key: QuotaKey, limit: number, used: number, adding: number): DomainError {
  const label = quotaLabels[key].name;
  const hint =
    key === 'concurrent_jobs'
      ? 'Wait for a running job to finish, or cancel one.'
      : billingEnabled()
        ? 'Upgrade your plan on the Billing page, or free some up.'
        : 'Ask the operator of this installation to raise it (QUOTAS).';
  const message = `Quota '${key}' (${label}) of the ${plan.name} plan is ${formatQuantity(key, limit)}; ${formatQuantity(key, used)} in use${adding ? `, and this needs ${formatQuantity(key, adding)} more` : ''}. ${hint}`;
  return new DomainError(key === 'concurrent_jobs' ? 'rate_limited' : 'quota_exceeded', message, {
    param: key,
    details: [{ field: key, message: `Limit ${formatQuantity(key, limit)}, in use ${formatQuantity(key, used)}, requested ${formatQuantity(key, adding)}.` }],
  });
}

/**
 * Throws unless `adding` more of the quota fits the organization's plan: 429 for concurrency (wait
 * for a job to finish), 402 for the rest (upgrade or free some). The message names the quota, its
 * limit and the current use. Run it inside the transaction that adds, under `lockOrgBilling`.
 */
export async function assertQuota(orgId: string, key: QuotaKey, adding: number, tx: Db = db()): Promise<void> {
  const plan = await planOf(orgId, tx);
  const limit = plan.quotas[key];
  if (limit === null) return;
  const used = await quotaUse(orgId, key, tx);
  if (used + adding > limit) throw quotaError(plan, key, limit, used, adding);
}

/**
 * For data that arrives as a stream of unknown length: checks what is known now, and returns a
 * check for the running total (throws once it passes the quota), so reading stops there.
 */
export async function streamQuota(orgId: string, key: QuotaKey, declared = 0): Promise<(total: number) => void> {
  const plan = await planOf(orgId);
  const limit = plan.quotas[key];
  if (limit === null) return () => undefined;
  const used = await quotaUse(orgId, key);
  if (used + declared > limit) throw quotaError(plan, key, limit, used, declared);
  return (total) => {
    if (used + total > limit) throw quotaError(plan, key, limit, used, total);
  };
}

/** Serializes quota checks and the writes they guard for one organization (ends with the transaction). */
export async function lockOrgBilling(tx: Db, orgId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'billing:' + orgId}))`);
}
