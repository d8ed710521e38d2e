/**
 * The Billing page and API: plan, usage this period against quotas, the spending cap, invoices,
 * and the Stripe-hosted pages (Checkout to subscribe, the Customer Portal for the payment method).
 * Reading it and changing it both need `manage_billing`.
 */
import { and, desc, eq, gte } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { DomainError, quotaKeys, quotaLabels, spendingCapSchema, type PlanId, type QuotaKey } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { authorize, orgScope, type Caller } from '../tenant';
import { parseInput } from '../errors';
import { recordAudit } from '../identity/audit';
import { billingAccount, billingEnabled, ensureBillingAccount, periodStart, planOf, quotaUse } from './account';
import { spentThisMonth } from './costs';
import { ensureCustomer, requireBilling, stripe, stripeUnavailable } from './stripe';

export interface QuotaView {
  key: QuotaKey;
  name: string;
  unit: string;
  limit: number | null;
  used: number;
}

export interface InvoiceView {
  id: string;
  number: string | null;
  status: string | null;
  amountDueMinor: number;
  amountPaidMinor: number;
  currency: string;
  periodStart: Date;
  periodEnd: Date;
  hostedInvoiceUrl: string | null;
  pdfUrl: string | null;
}

export interface BillingView {
  enabled: boolean;
  plan: { id: PlanId; name: string; summary: string };
  subscription: { status: string | null; id: string | null };
  hasCustomer: boolean;
  periodStart: Date;
  quotas: QuotaView[];
  spentThisMonthMinor: number;
  monthlyCapMinor: number | null;
  credits: { jobId: string | null; amountMinor: number; reason: string; createdAt: Date }[];
  prices: { trainingPriceFactor: number; benchmarkPerDeviceMinuteMinor: number; storagePerGbDayMinor: number; fleetDevicePerMonthMinor: number };
  currency: 'usd';
}

export async function getBilling(caller: Caller): Promise<BillingView> {
  authorize(caller, 'manage_billing');
  const account = await billingAccount(caller.orgId);
  const plan = await planOf(caller.orgId);
  const quotas: QuotaView[] = [];
  for (const key of quotaKeys) quotas.push({ key, ...quotaLabels[key], limit: plan.quotas[key], used: await quotaUse(caller.orgId, key) });
  const credits = await db()
    .select()
    .from(schema.billingCredits)
    .where(orgScope(caller, schema.billingCredits, gte(schema.billingCredits.createdAt, periodStart())))
    .orderBy(desc(schema.billingCredits.createdAt))
    .limit(50);
  return {
    enabled: billingEnabled(),
    plan: { id: plan.id, name: plan.name, summary: plan.summary },
    subscription: { status: account?.subscriptionStatus ?? null, id: account?.stripeSubscriptionId ?? null },
    hasCustomer: Boolean(account?.stripeCustomerId),
    periodStart: periodStart(),
    quotas,
    spentThisMonthMinor: await spentThisMonth(caller.orgId),
    monthlyCapMinor: account?.monthlyCapMinor ?? null,
    credits: credits.map((c) => ({ jobId: c.jobId, amountMinor: c.amountMinor, reason: c.reason, createdAt: c.createdAt })),
    prices: plan.prices,
    currency: 'usd',
  };
}

/** Sets (or with null removes) the monthly spending cap, in US cents. */
export async function setSpendingCap(caller: Caller, body: unknown): Promise<BillingView> {
  authorize(caller, 'manage_billing');
  const { monthly_cap } = parseInput(spendingCapSchema, body);
  await ensureBillingAccount(caller.orgId);
  await db()
    .update(schema.billingAccounts)
    .set({ monthlyCapMinor: monthly_cap, updatedAt: new Date() })
    .where(and(eq(schema.billingAccounts.orgId, caller.orgId)));
  await recordAudit(caller, { action: 'billing.cap_changed', targetType: 'org', targetId: caller.orgId, data: { monthlyCapMinor: monthly_cap } });
  return getBilling(caller);
}

function portalUrl(pathname: string): string {
  return new URL(pathname, loadConfig().PUBLIC_URL).toString();
}

/** A Stripe Checkout session that adds a payment method and subscribes to pay as you go. */
export async function startCheckout(caller: Caller): Promise<{ url: string; id: string }> {
  authorize(caller, 'manage_billing');
  requireBilling();
  const prices = loadConfig().STRIPE_PAYG_PRICES?.split(',') ?? [];
  if (!prices.length) throw new DomainError('unavailable', 'Subscribing is not configured on this installation (STRIPE_PAYG_PRICES is unset).');
  const customer = await ensureCustomer(caller.orgId);
  try {
    const session = await stripe().checkout.sessions.create({
      mode: 'subscription',
      customer,
      client_reference_id: caller.orgId,
      // Metered prices carry no quantity: Stripe bills them from the meter events.
      line_items: prices.map((price) => ({ price })),
      subscription_data: { metadata: { org_id: caller.orgId, plan: 'payg' } },
      success_url: portalUrl('/billing?checkout=success'),
      cancel_url: portalUrl('/billing?checkout=cancelled'),
    });
    if (!session.url) throw new Error('Checkout returned no URL');
    await recordAudit(caller, { action: 'billing.checkout_started', targetType: 'org', targetId: caller.orgId, data: { session: session.id } });
    return { url: session.url, id: session.id };
  } catch (e) {
    throw stripeUnavailable(e);
  }
}

/** A Customer Portal session, where the organization manages its payment method and subscription. */
export async function openCustomerPortal(caller: Caller): Promise<{ url: string }> {
  authorize(caller, 'manage_billing');
  requireBilling();
  const customer = await ensureCustomer(caller.orgId);
  try {
    const session = await stripe().billingPortal.sessions.create({ customer, return_url: portalUrl('/billing') });
    return { url: session.url };
  } catch (e) {
    throw stripeUnavailable(e);
  }
}

/** The organization's latest invoices, from Stripe (none before its first billing action). */
export async function listInvoices(caller: Caller): Promise<InvoiceView[]> {
  authorize(caller, 'manage_billing');
  if (!billingEnabled()) return [];
  const customer = (await billingAccount(caller.orgId))?.stripeCustomerId;
  if (!customer) return [];
  try {
    const list = await stripe().invoices.list({ customer, limit: 24 });
    return list.data.map((i) => ({
      id: i.id ?? '',
      number: i.number ?? null,
      status: i.status ?? null,
      amountDueMinor: i.amount_due,
      amountPaidMinor: i.amount_paid,
      currency: i.currency,
      periodStart: new Date(i.period_start * 1000),
      periodEnd: new Date(i.period_end * 1000),
      hostedInvoiceUrl: i.hosted_invoice_url ?? null,
      pdfUrl: i.invoice_pdf ?? null,
    }));
  } catch (e) {
    throw stripeUnavailable(e);
  }
}
