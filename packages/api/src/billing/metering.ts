/**
 * Usage on its way to Stripe, and credits for the platform's failures.
 *
 * Every usage row is reported as a Billing Meter event whose identifier is the row's id, then
 * marked reported. A crash between the two re-sends the same identifier, which Stripe
 * deduplicates; a failure leaves the row unreported for the next pass. So nothing is lost and
 * nothing is counted twice. The orchestrator worker runs `settleBilling` periodically.
 */
import { and, asc, eq, gte, isNotNull, isNull, sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { newId, platformFailureCodes } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { billingEnabled, quotaUse } from './account';
import { jobCost } from './costs';
import { stripe } from './stripe';

const DAY_MS = 86_400_000;
/** Stripe accepts meter events up to 35 days old; older unreported usage is marked, not sent. */
const MAX_EVENT_AGE_MS = 35 * DAY_MS;

const utcDay = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * Daily usage of the UTC day before `now`, once per organization and day: stored data (GB,
 * rounded up) and fleet devices that checked in that day. Only organizations with a Stripe
 * customer are metered daily.
 */
export async function meterDailyUsage(now = Date.now()): Promise<number> {
  const dayStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate()) - DAY_MS;
  const period = utcDay(dayStart);
  const orgs = await db().select({ orgId: schema.billingAccounts.orgId }).from(schema.billingAccounts).where(isNotNull(schema.billingAccounts.stripeCustomerId));
  let written = 0;
  for (const { orgId } of orgs) {
    // Stored data counts as the stored_bytes quota counts it.
    const gb = Math.ceil((await quotaUse(orgId, 'stored_bytes')) / 1024 ** 3);
    const [active] = await db()
      .select({ v: sql<number>`count(*)::int` })
      .from(schema.fleetDevices)
      .where(
        and(
          eq(schema.fleetDevices.orgId, orgId),
          gte(schema.fleetDevices.lastCheckInAt, new Date(dayStart)),
          isNull(schema.fleetDevices.revokedAt),
        ),
      );
    const rows = [
      { id: newId('usage'), orgId, kind: 'storage_gb_days', quantity: gb, period },
      { id: newId('usage'), orgId, kind: 'fleet_active_devices', quantity: Number(active?.v ?? 0), period },
    ].filter((r) => r.quantity > 0);
    if (!rows.length) continue;
    const inserted = await db()
      .insert(schema.usageRecords)
      .values(rows.map((r) => ({ ...r, createdAt: new Date(dayStart + DAY_MS - 1) })))
      .onConflictDoNothing()
      .returning({ id: schema.usageRecords.id });
    written += inserted.length;
  }
  return written;
}

export interface ReportResult {
  reported: number;
  notBillable: number;
  failed: number;
}

/** Sends unreported usage to Stripe as meter events (at most `limit` rows per call). */
export async function reportUsage(limit = 500, now = Date.now()): Promise<ReportResult> {
  const out: ReportResult = { reported: 0, notBillable: 0, failed: 0 };
  const rows = await db()
    .select({ usage: schema.usageRecords, customer: schema.billingAccounts.stripeCustomerId, plan: schema.billingAccounts.plan })
    .from(schema.usageRecords)
    .leftJoin(schema.billingAccounts, eq(schema.billingAccounts.orgId, schema.usageRecords.orgId))
    .where(isNull(schema.usageRecords.reportedAt))
    .orderBy(asc(schema.usageRecords.createdAt))
    .limit(limit);
  const prefix = loadConfig().STRIPE_METER_PREFIX;
  const mark = (id: string, set: Partial<typeof schema.usageRecords.$inferInsert>) =>
    db().update(schema.usageRecords).set(set).where(and(eq(schema.usageRecords.id, id), isNull(schema.usageRecords.reportedAt)));
  for (const { usage, customer, plan } of rows) {
    const age = now - usage.createdAt.getTime();
    if (!customer || !plan || plan === 'free' || age > MAX_EVENT_AGE_MS) {
      // Free-plan usage is within its quotas and never billed; the reason stays on the row.
      const why = age > MAX_EVENT_AGE_MS ? 'not billed: older than Stripe accepts (35 days)' : 'not billed: free plan';
      await mark(usage.id, { reportedAt: new Date(now), reportError: why });
      out.notBillable++;
      continue;
    }
    try {
      await stripe().billing.meterEvents.create({
        event_name: `${prefix}${usage.kind}`,
        identifier: usage.id,
        timestamp: Math.floor(usage.createdAt.getTime() / 1000),
        payload: { stripe_customer_id: customer, value: String(usage.quantity) },
      });
      await mark(usage.id, { reportedAt: new Date(now), reportError: null, reportAttempts: usage.reportAttempts + 1 });
      out.reported++;
    } catch (e) {
      await mark(usage.id, { reportAttempts: usage.reportAttempts + 1, reportError: (e as Error).message.slice(0, 500) });
      out.failed++;
    }
  }
  return out;
}

/**
 * Credits a job that failed for the platform's reasons with what it cost, once. Returns the
 * credit in cents (0 when there was nothing to credit or the failure was not the platform's).
 */
export async function creditPlatformFailure(ref: { orgId: string; jobId: string }, code: string): Promise<number> {
  if (!platformFailureCodes.includes(code)) return 0;
  const [job] = await db()
    .select({ id: schema.jobs.id, baseModel: schema.jobs.baseModel })
    .from(schema.jobs)
    .where(and(eq(schema.jobs.id, ref.jobId), eq(schema.jobs.orgId, ref.orgId)));
  if (!job) return 0;
  const cost = await jobCost(ref.orgId, job);
  const amount = Math.ceil(cost.totalMinor);
  if (amount <= 0) return 0;
  const inserted = await db()
    .insert(schema.billingCredits)
    .values({ id: newId('credit'), orgId: ref.orgId, jobId: ref.jobId, amountMinor: amount, reason: `The job failed for the platform's reasons (${code}); its cost is credited.` })
    .onConflictDoNothing()
    .returning({ id: schema.billingCredits.id });
  return inserted.length ? amount : 0;
}

/** Applies credits not yet on Stripe to the customer's balance (idempotent by credit id). */
export async function pushCredits(limit = 100): Promise<number> {
  const rows = await db()
    .select({ credit: schema.billingCredits, customer: schema.billingAccounts.stripeCustomerId })
    .from(schema.billingCredits)
    .innerJoin(schema.billingAccounts, eq(schema.billingAccounts.orgId, schema.billingCredits.orgId))
    .where(and(isNull(schema.billingCredits.stripeTransactionId), isNotNull(schema.billingAccounts.stripeCustomerId)))
    .limit(limit);
  let pushed = 0;
  for (const { credit, customer } of rows) {
    const txn = await stripe().customers.createBalanceTransaction(
      customer!,
      { amount: -credit.amountMinor, currency: 'usd', description: credit.reason, metadata: { credit_id: credit.id, job_id: credit.jobId ?? '' } },
      { idempotencyKey: `credit-${credit.id}` },
    );
    await db().update(schema.billingCredits).set({ stripeTransactionId: txn.id }).where(eq(schema.billingCredits.id, credit.id));
    pushed++;
  }
  return pushed;
}

/** One pass of the billing loop: daily usage, meter events, credits. A no-op with billing off. */
export async function settleBilling(now = Date.now()): Promise<ReportResult & { daily: number; credits: number }> {
  if (!billingEnabled()) return { reported: 0, notBillable: 0, failed: 0, daily: 0, credits: 0 };
  const daily = await meterDailyUsage(now);
  const r = await reportUsage(500, now);
  const credits = await pushCredits();
  return { ...r, daily, credits };
}

