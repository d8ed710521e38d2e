'use client';
import { useEffect, useRef } from 'react';
import { trpc } from '@/lib/trpc';
import { isTerminal } from '@/lib/jobs';
import { usePoll } from '@/lib/use-poll';
import { fmtDate, fmtNum, fmtUsd } from '@/lib/format';
import type { JobCost } from '@/lib/types';

type Line = JobCost['lines'][number];

const itemLabels: Record<Line['item'], string> = {
  training: 'Training',
  benchmarks: 'Benchmarks on devices',
  storage: 'Storage of published files',
};

function quantityText(l: Line): string {
  const digits = l.item === 'training' ? 0 : l.item === 'benchmarks' ? 2 : 3;
  return `${fmtNum(l.quantity, digits)} ${l.unit}`;
}

function unitPriceText(l: Line): string {
  // Training is priced per million tokens; the other units are priced one at a time ("GB-days" → per GB-day).
  return l.item === 'training' ? `${fmtUsd(l.unitPriceMinor)} per million tokens` : `${fmtUsd(l.unitPriceMinor)} per ${l.unit.replace(/s$/, '')}`;
}

/**
 * What the job has cost so far, by line item, with its credit. `status` is a dependency only:
 * usage is metered as the job moves on, so each new status loads the cost again.
 */
export function JobCostCard({ id, status }: { id: string; status: string }) {
  const cost = usePoll(() => trpc.jobs.cost.query({ id }), null, [id, status]);
  const { reload } = cost;
  const statusOnOpen = useRef(status);
  useEffect(() => {
    if (!isTerminal(status) || status === statusOnOpen.current) return;
    // A failed or cancelled job is metered (and a platform failure credited) just after its
    // status changes, and the job page stops polling then: look a little later too.
    const timers = [3_000, 10_000].map((ms) => setTimeout(() => void reload(), ms));
    return () => timers.forEach(clearTimeout);
  }, [status, reload]);
  const c = cost.data;
  return (
    <div className="card" data-testid="job-cost">
      <h2>Cost</h2>
      {cost.error && <div className="alert error">{cost.error}</div>}
      {!c ? (
        !cost.error && <div className="empty">Loading…</div>
      ) : (
        <>
          <div className="table-wrap">
            <table aria-label="Cost">
              <thead>
                <tr>
                  <th>Item</th>
                  <th className="num">Quantity</th>
                  <th className="num">Unit price</th>
                  <th className="num">Amount</th>
                </tr>
              </thead>
              <tbody>
                {c.lines.map((l) => (
                  <tr key={l.item} data-testid="job-cost-line" data-item={l.item} data-amount-minor={l.amountMinor}>
                    <td>{itemLabels[l.item] ?? l.item}</td>
                    <td className="num">{quantityText(l)}</td>
                    <td className="num">{unitPriceText(l)}</td>
                    <td className="num">{fmtUsd(l.amountMinor)}</td>
                  </tr>
                ))}
                <tr>
                  <td colSpan={3}>
                    <strong>Total</strong>
                  </td>
                  <td className="num" data-testid="job-cost-total">
                    <strong>{fmtUsd(c.totalMinor)}</strong>
                  </td>
                </tr>
                {c.credit && (
                  <tr data-testid="job-credit" data-amount-minor={c.credit.amountMinor}>
                    <td colSpan={3}>
                      Credit <span className="muted small">({fmtDate(c.credit.createdAt)})</span>: {c.credit.reason}
                    </td>
                    <td className="num">−{fmtUsd(c.credit.amountMinor)}</td>
                  </tr>
                )}
                <tr>
                  <td colSpan={3}>
                    <strong>Net</strong>
                  </td>
                  <td className="num" data-testid="job-cost-net">
                    <strong>{fmtUsd(c.netMinor)}</strong>
                  </td>
                </tr>
              </tbody>
            </table>
          </div>
          <p className="hint">
            Training and benchmark time are metered as the job completes them, at the organization&apos;s plan prices; storage keeps accruing while the
            published files are kept.
          </p>
        </>
      )}
    </div>
  );
}
