/** `/api/v1` routes of billing: the job estimate and cost, the organization's plan, cap, invoices and Stripe pages. */
import { getBilling, listInvoices, openCustomerPortal, setSpendingCap, startCheckout, type BillingView, type InvoiceView } from '../billing/billing';
import type { JobCost } from '../billing/costs';
import type { JobCostEstimate } from '../billing/estimate';
import { estimateJob, getJobCost } from '../jobs/jobs';
import type { Route } from '../http/routes';
import { json, readJson } from '../http/util';

export function restEstimate(e: JobCostEstimate) {
  return {
    object: 'fine_tuning.job.estimate',
    model: e.model,
    n_epochs: e.epochs,
    training_tokens: e.trainingTokens,
    estimated_seconds: e.estimatedSeconds,
    estimated_minutes: e.estimatedSeconds === null ? null : Math.ceil(e.estimatedSeconds / 60),
    estimated_cost: e.estimatedCostMinor === null ? null : e.estimatedCostMinor / 100,
    currency: e.currency,
    price: { per_million_tokens: e.price.perMillionTokensMinor / 100, plan: e.price.plan },
    basis: e.basis,
    spending_cap: e.spendingCap
      ? { monthly_cap: e.spendingCap.monthlyCapMinor / 100, spent_this_month: e.spendingCap.spentThisMonthMinor / 100, remaining: e.spendingCap.remainingMinor / 100 }
      : null,
    exceeds_cap: e.exceedsCap,
    memory: e.memory
      ? { peak_bytes: e.memory.peakBytes, gradient_checkpointing: e.memory.gradientCheckpointing, pool_memory_bytes: e.memory.capacityBytes, training_pool: e.memory.pool }
      : null,
  };
}

export function restJobCost(jobId: string, c: JobCost) {
  return {
    object: 'fine_tuning.job.cost',
    job_id: jobId,
    currency: c.currency,
    lines: c.lines.map((l) => ({ item: l.item, quantity: l.quantity, unit: l.unit, unit_price: l.unitPriceMinor / 100, amount: l.amountMinor / 100 })),
    total: c.totalMinor / 100,
    credit: c.credit ? { amount: c.credit.amountMinor / 100, reason: c.credit.reason, created_at: Math.floor(c.credit.createdAt.getTime() / 1000) } : null,
    net: c.netMinor / 100,
  };
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export function restBilling(b: BillingView) {
  return {
    object: 'billing',
    enabled: b.enabled,
    plan: b.plan,
    subscription: b.subscription,
    period_start: seconds(b.periodStart),
    quotas: b.quotas.map((q) => ({ key: q.key, name: q.name, unit: q.unit, limit: q.limit, used: q.used })),
    spent_this_month: b.spentThisMonthMinor / 100,
    monthly_cap: b.monthlyCapMinor === null ? null : b.monthlyCapMinor / 100,
    credits: b.credits.map((c) => ({ job_id: c.jobId, amount: c.amountMinor / 100, reason: c.reason, created_at: seconds(c.createdAt) })),
    prices: {
      training_price_factor: b.prices.trainingPriceFactor,
      benchmark_per_device_minute: b.prices.benchmarkPerDeviceMinuteMinor / 100,
      storage_per_gb_day: b.prices.storagePerGbDayMinor / 100,
      fleet_device_per_month: b.prices.fleetDevicePerMonthMinor / 100,
    },
    currency: b.currency,
  };
}

export function restInvoice(i: InvoiceView) {
  return {
    id: i.id,
    object: 'invoice',
    number: i.number,
    status: i.status,
    amount_due: i.amountDueMinor / 100,
    amount_paid: i.amountPaidMinor / 100,
    currency: i.currency,
    period_start: seconds(i.periodStart),
    period_end: seconds(i.periodEnd),
    hosted_invoice_url: i.hostedInvoiceUrl,
    invoice_pdf: i.pdfUrl,
  };
}

/** The cap travels in dollars on REST (like every amount there); the domain keeps cents. */
function capInCents(body: Record<string, unknown>): Record<string, unknown> {
  const v = body.monthly_cap;
  return typeof v === 'number' && Number.isFinite(v) ? { ...body, monthly_cap: Math.round(v * 100) } : body;
}

export const billingRoutes: Route[] = [
  { method: 'POST', pattern: /^\/jobs\/estimate$/, run: async (c, req) => json(restEstimate(await estimateJob(c, await readJson(req)))) },
  { method: 'GET', pattern: /^\/jobs\/([^/]+)\/cost$/, run: async (c, _r, _u, m) => json(restJobCost(m[1], await getJobCost(c, m[1]))) },
  { method: 'GET', pattern: /^\/billing$/, run: async (c) => json(restBilling(await getBilling(c))) },
  { method: 'PATCH', pattern: /^\/billing$/, run: async (c, req) => json(restBilling(await setSpendingCap(c, capInCents(await readJson(req))))) },
  { method: 'GET', pattern: /^\/billing\/invoices$/, run: async (c) => json({ object: 'list', data: (await listInvoices(c)).map(restInvoice), has_more: false }) },
  { method: 'POST', pattern: /^\/billing\/checkout$/, run: async (c) => json({ object: 'billing.checkout_session', ...(await startCheckout(c)) }, 201) },
  { method: 'POST', pattern: /^\/billing\/portal$/, run: async (c) => json({ object: 'billing.portal_session', ...(await openCustomerPortal(c)) }, 201) },
];
