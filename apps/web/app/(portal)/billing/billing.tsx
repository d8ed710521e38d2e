'use client';
import Link from 'next/link';
import { useEffect, useState, type FormEvent } from 'react';
import { trpc } from '@/lib/trpc';
import { usePermission } from '@/lib/me';
import { useAction } from '@/lib/use-action';
import { usePoll } from '@/lib/use-poll';
import { fmtMoney, fmtUsd } from '@/lib/format';
import { DeniedReason } from '@/components/denied-reason';
import type { BillingView, Invoice } from '@/lib/types';

type Quota = BillingView['quotas'][number];

/** After Checkout the plan changes only when Stripe's webhook arrives: look again this often … */
const AWAIT_WEBHOOK_MS = 3_000;
/** … for at most this long (a webhook that takes longer shows on the next visit). */
const AWAIT_WEBHOOK_FOR_MS = 60_000;

const MB = 1024 ** 2;
const GB = 1024 ** 3;

function fmtQuota(q: Quota, v: number): string {
  if (q.unit === 'bytes') return v >= GB ? `${(v / GB).toFixed(2)} GB` : `${(v / MB).toFixed(1)} MB`;
  return v.toLocaleString('en-US');
}

function fmtDay(d: Date | string): string {
  return new Date(d).toISOString().slice(0, 10);
}

function subscriptionBadge(status: string): string {
  if (status === 'active' || status === 'trialing') return 'ok';
  if (status === 'canceled' || status === 'incomplete_expired') return 'cancelled';
  return 'warn';
}

/** How much of a limit is used; nothing for an unlimited one. */
function UsageBar({ used, limit }: { used: number; limit: number | null }) {
  if (limit === null) return null;
  const pct = limit > 0 ? Math.min(100, (100 * used) / limit) : 100;
  return (
    <div className={`progress usage${used >= limit ? ' full' : ''}`} title={`${pct.toFixed(0)} % used`}>
      <div style={{ width: `${pct}%` }} />
    </div>
  );
}

export function Billing({ checkout }: { checkout: 'success' | 'cancelled' | null }) {
  const perm = usePermission('manage_billing');
  return (
    <>
      <div className="page-head">
        <h1>Billing</h1>
      </div>
      {perm.allowed ? (
        <BillingPanel checkout={checkout} />
      ) : (
        <div className="card">
          <DeniedReason permission={perm} testid="billing-reason" />
        </div>
      )}
    </>
  );
}

function BillingPanel({ checkout }: { checkout: 'success' | 'cancelled' | null }) {
  const [awaitingWebhook, setAwaitingWebhook] = useState(checkout === 'success');
  const billing = usePoll(() => trpc.billing.get.query(), awaitingWebhook ? AWAIT_WEBHOOK_MS : null);
  const invoices = usePoll(() => trpc.billing.invoices.query(), null);
  const stripeAction = useAction();
  // Set once the browser is on its way to Stripe, so the buttons stay disabled until it leaves.
  const [leaving, setLeaving] = useState<'checkout' | 'portal' | null>(null);

  const b = billing.data;
  const subscribed = b !== undefined && b.plan.id !== 'free';
  useEffect(() => {
    if (!awaitingWebhook) return;
    if (subscribed) {
      setAwaitingWebhook(false);
      return;
    }
    const t = setTimeout(() => setAwaitingWebhook(false), AWAIT_WEBHOOK_FOR_MS);
    return () => clearTimeout(t);
  }, [awaitingWebhook, subscribed]);

  async function goToStripe(key: 'checkout' | 'portal') {
    await stripeAction.run(key, async () => {
      const { url } = key === 'checkout' ? await trpc.billing.checkout.mutate() : await trpc.billing.portal.mutate();
      setLeaving(key);
      window.location.assign(url);
    });
  }

  if (!b) {
    return billing.error ? (
      <div className="alert error" data-testid="billing-load-error">
        {billing.error}
      </div>
    ) : (
      <div className="empty">Loading…</div>
    );
  }

  const stripeBusy = stripeAction.busy !== null || leaving !== null;
  const opening = stripeAction.busy ?? leaving;
  const factor = b.prices.trainingPriceFactor;

  return (
    <>
      {billing.error && <div className="alert error">Refreshing failed: {billing.error}</div>}
      {checkout === 'success' && (
        <div className="alert ok" data-testid="billing-checkout-result" data-result="success">
          Checkout is complete.{' '}
          {subscribed ? `You are on the ${b.plan.name} plan.` : `The plan changes once Stripe confirms the subscription${awaitingWebhook ? ' (checking…)' : '; reload the page in a moment'}.`}
        </div>
      )}
      {checkout === 'cancelled' && (
        <div className="alert info" data-testid="billing-checkout-result" data-result="cancelled">
          Checkout was cancelled; nothing changed.
        </div>
      )}

      <div className="card">
        <h2>Plan</h2>
        <div className="row">
          <strong style={{ fontSize: 18 }} data-testid="billing-plan" data-plan={b.plan.id}>
            {b.plan.name}
          </strong>
          {b.enabled && (
            <span className="small muted">
              Subscription:{' '}
              {b.subscription.status ? (
                <span className={`badge ${subscriptionBadge(b.subscription.status)}`} data-testid="billing-subscription-status">
                  {b.subscription.status}
                </span>
              ) : (
                <span data-testid="billing-subscription-status">none</span>
              )}
            </span>
          )}
        </div>
        {b.enabled ? (
          <p className="muted" data-testid="billing-plan-summary">
            {b.plan.summary}
          </p>
        ) : (
          <div className="alert info" data-testid="billing-off">
            Billing is off on this installation; only the quotas its operator configured apply.
          </div>
        )}
        {b.enabled && (
          <div className="row">
            {b.plan.id === 'free' && (
              <button type="button" disabled={stripeBusy} onClick={() => void goToStripe('checkout')} data-testid="billing-checkout">
                {opening === 'checkout' ? 'Opening Stripe…' : 'Subscribe to pay as you go'}
              </button>
            )}
            <button type="button" className="secondary" disabled={stripeBusy} onClick={() => void goToStripe('portal')} data-testid="billing-portal">
              {opening === 'portal' ? 'Opening Stripe…' : 'Manage payment method'}
            </button>
            <span className="hint">Payment details are entered on Stripe&apos;s pages; this site never sees them.</span>
          </div>
        )}
        {stripeAction.error && (
          <div className="alert error" role="alert" data-testid="billing-stripe-error">
            {stripeAction.error}
          </div>
        )}
      </div>

      <div className="card">
        <h2>Spending this month</h2>
        <div className="stats">
          <div className="stat">
            <div className="label">Spent since {fmtDay(b.periodStart)}</div>
            <div className="value" data-testid="billing-spent">
              {fmtUsd(b.spentThisMonthMinor)}
            </div>
          </div>
          <div className="stat">
            <div className="label">Monthly cap</div>
            <div className="value" data-testid="billing-cap">
              {b.monthlyCapMinor === null ? 'No cap' : fmtUsd(b.monthlyCapMinor)}
            </div>
          </div>
          {b.monthlyCapMinor !== null && (
            <div className="stat">
              <div className="label">Left under the cap</div>
              <div className="value" data-testid="billing-remaining">
                {fmtUsd(Math.max(0, b.monthlyCapMinor - b.spentThisMonthMinor))}
              </div>
            </div>
          )}
        </div>
        <UsageBar used={b.spentThisMonthMinor} limit={b.monthlyCapMinor} />
        <CapForm capMinor={b.monthlyCapMinor} reload={billing.reload} />
      </div>

      <div className="card">
        <h2>Quotas</h2>
        <div className="table-wrap">
          <table aria-label="Quotas" data-testid="billing-quotas">
            <thead>
              <tr>
                <th>Quota</th>
                <th className="num">Used</th>
                <th className="num">Limit</th>
                <th style={{ width: '30%' }} />
              </tr>
            </thead>
            <tbody>
              {b.quotas.map((q) => (
                <tr key={q.key} data-testid="billing-quota-row" data-quota={q.key} data-used={q.used} data-limit={q.limit ?? ''}>
                  <td>{q.name}</td>
                  <td className="num" data-testid="billing-quota-used">
                    {fmtQuota(q, q.used)}
                  </td>
                  <td className="num" data-testid="billing-quota-limit">
                    {q.limit === null ? <span className="muted">unlimited</span> : fmtQuota(q, q.limit)}
                  </td>
                  <td>
                    <UsageBar used={q.used} limit={q.limit} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>

      <div className="card">
        <h2>Credits this month</h2>
        <p className="muted">A job that fails for the platform&apos;s reasons is credited automatically.</p>
        <div className="table-wrap">
          <table aria-label="Credits" data-testid="billing-credits">
            <thead>
              <tr>
                <th>Date</th>
                <th>Job</th>
                <th className="num">Amount</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {b.credits.map((c, i) => (
                <tr key={`${c.jobId ?? ''}-${i}`} data-testid="billing-credit-row">
                  <td>{fmtDay(c.createdAt)}</td>
                  <td>{c.jobId ? <Link href={`/jobs/${c.jobId}`}>{c.jobId}</Link> : <span className="muted">—</span>}</td>
                  <td className="num">{fmtUsd(c.amountMinor)}</td>
                  <td>{c.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {b.credits.length === 0 && <div className="empty">No credits this month.</div>}
        </div>
      </div>

      {b.enabled && <Invoices invoices={invoices.data} error={invoices.error} loading={invoices.loading} />}

      <div className="card">
        <h2>Prices on this plan</h2>
        <dl className="kv" data-testid="billing-prices">
          <dt>Training</dt>
          <dd>
            {factor === 0
              ? 'free'
              : factor === 1
                ? "each base model's price per million training tokens"
                : `${factor} × each base model's price per million training tokens`}
            <span className="muted"> (the new-job form shows the estimate before a job starts)</span>
          </dd>
          <dt>Benchmarks</dt>
          <dd>{fmtUsd(b.prices.benchmarkPerDeviceMinuteMinor)} per device-minute</dd>
          <dt>Storage</dt>
          <dd>{fmtUsd(b.prices.storagePerGbDayMinor)} per GB-day</dd>
          <dt>Fleet devices</dt>
          <dd>{fmtUsd(b.prices.fleetDevicePerMonthMinor)} per active device per month</dd>
        </dl>
      </div>
    </>
  );
}

const capText = (minor: number | null) => (minor === null ? '' : (minor / 100).toFixed(2));

/** Sets or removes the monthly spending cap: dollars here, cents to the api. */
function CapForm({ capMinor, reload }: { capMinor: number | null; reload: () => Promise<void> }) {
  const action = useAction();
  // Mounted once the billing view is loaded, so the saved cap is there from the first render.
  const [text, setText] = useState(capText(capMinor));
  const busy = action.busy !== null;

  async function save(monthlyCapMinor: number | null) {
    await action.run(monthlyCapMinor === null ? 'remove' : 'save', async () => {
      const view = await trpc.billing.setCap.mutate({ monthly_cap: monthlyCapMinor });
      setText(capText(view.monthlyCapMinor));
      await reload();
    });
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const dollars = Number(text.trim());
    if (!text.trim() || !Number.isFinite(dollars) || dollars < 0) {
      await action.run('save', async () => {
        throw new Error('Enter the cap in dollars, such as 50 or 12.50, or remove the cap.');
      });
      return;
    }
    await save(Math.round(dollars * 100));
  }

  return (
    <form onSubmit={onSubmit} aria-label="Monthly spending cap" data-testid="billing-cap-form">
      <label htmlFor="billing-cap">Monthly spending cap (US dollars)</label>
      <div className="row">
        <input
          id="billing-cap"
          type="number"
          min={0}
          step={0.01}
          placeholder="e.g. 50.00"
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-testid="billing-cap-input"
          style={{ maxWidth: 200 }}
        />
        <button type="submit" disabled={busy} data-testid="billing-cap-save">
          {action.busy === 'save' ? 'Saving…' : 'Save cap'}
        </button>
        {capMinor !== null && (
          <button type="button" className="secondary" disabled={busy} onClick={() => void save(null)} data-testid="billing-cap-remove">
            {action.busy === 'remove' ? 'Removing…' : 'Remove cap'}
          </button>
        )}
      </div>
      <p className="hint">
        A job whose estimated cost would take this month&apos;s spending past the cap does not start. The month starts on the 1st (UTC); credits count against
        what was spent.
      </p>
      {action.error && (
        <div className="alert error" role="alert" data-testid="billing-cap-error">
          {action.error}
        </div>
      )}
    </form>
  );
}

function Invoices({ invoices, error, loading }: { invoices: Invoice[] | undefined; error: string | null; loading: boolean }) {
  return (
    <div className="card">
      <h2>Invoices</h2>
      {error && <div className="alert error">{error}</div>}
      <div className="table-wrap">
        <table aria-label="Invoices" data-testid="billing-invoices">
          <thead>
            <tr>
              <th>Number</th>
              <th>Status</th>
              <th>Period</th>
              <th className="num">Amount due</th>
              <th className="num">Paid</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(invoices ?? []).map((inv) => (
              <tr key={inv.id} data-testid="billing-invoice-row" data-invoice-id={inv.id} data-status={inv.status ?? ''}>
                <td>
                  {inv.hostedInvoiceUrl ? (
                    <a href={inv.hostedInvoiceUrl} target="_blank" rel="noreferrer" data-testid="billing-invoice-link">
                      {inv.number ?? inv.id}
                    </a>
                  ) : (
                    (inv.number ?? inv.id)
                  )}
                </td>
                <td>{inv.status ? <span className={`badge ${inv.status === 'paid' ? 'ok' : inv.status === 'open' ? 'pending' : ''}`}>{inv.status}</span> : '—'}</td>
                <td>
                  {fmtDay(inv.periodStart)} – {fmtDay(inv.periodEnd)}
                </td>
                <td className="num">{fmtMoney(inv.amountDueMinor, inv.currency)}</td>
                <td className="num">{fmtMoney(inv.amountPaidMinor, inv.currency)}</td>
                <td>
                  {inv.pdfUrl && (
                    <a href={inv.pdfUrl} target="_blank" rel="noreferrer">
                      PDF
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {invoices && invoices.length === 0 && <div className="empty">No invoices yet.</div>}
        {loading && <div className="empty">Loading…</div>}
      </div>
    </div>
  );
}
