'use client';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePermission } from '@/lib/me';
import { fmtBytes, fmtNum, fmtUsd } from '@/lib/format';
import type { JobCostEstimate } from '@/lib/types';

/** Typing in a field asks once it pauses, not on every keystroke. */
const DEBOUNCE_MS = 400;

export interface EstimateState {
  data: JobCostEstimate | null;
  /** Why the latest input could not be estimated (often a field still being typed). */
  error: string | null;
  loading: boolean;
}

/**
 * jobs.estimate for `input` (the object jobs.create would get), asked again whenever it changes.
 * An answer to an older input is dropped; a failure keeps the last estimate and says why.
 */
export function useJobEstimate(input: Record<string, unknown>, enabled: boolean): EstimateState {
  // The input is rebuilt on every render: its JSON is what tells a real change.
  const key = enabled ? JSON.stringify(input) : null;
  const latest = useRef(input);
  latest.current = input;
  const [state, setState] = useState<EstimateState>({ data: null, error: null, loading: false });

  useEffect(() => {
    if (key === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    const timer = setTimeout(() => {
      trpc.jobs.estimate
        .mutate(latest.current)
        .then((data) => current && setState({ data, error: null, loading: false }))
        .catch((e) => current && setState((s) => ({ ...s, error: errorMessage(e), loading: false })));
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key]);

  return state;
}

function minutesText(seconds: number): string {
  return seconds < 60 ? 'under a minute' : `about ${fmtNum(Math.round(seconds / 60), 0)} min`;
}

/** Tokens, time and cost of the job the form describes, and the spending cap it would meet. */
export function JobEstimate({ state }: { state: EstimateState }) {
  const manageBilling = usePermission('manage_billing');
  const { data: e, error, loading } = state;
  if (!e && !error && !loading) return null;
  return (
    <div className="card" data-testid="job-estimate" data-epochs={e?.epochs ?? ''} data-tokens={e?.trainingTokens ?? ''} data-cost-minor={e?.estimatedCostMinor ?? ''}>
      <h2>
        Estimate {loading && <span className="small muted">(updating…)</span>}
      </h2>
      {e && (
        <>
          <dl className="kv">
            <dt>Training tokens</dt>
            <dd data-testid="job-estimate-tokens">
              {e.trainingTokens > 0 ? (
                <>
                  {fmtNum(e.trainingTokens, 0)}{' '}
                  <span className="muted">
                    ({e.epochs} epoch{e.epochs === 1 ? '' : 's'})
                  </span>
                </>
              ) : (
                <span className="muted">unknown</span>
              )}
            </dd>
            <dt>Training time</dt>
            <dd data-testid="job-estimate-time">{e.estimatedSeconds !== null ? minutesText(e.estimatedSeconds) : <span className="muted">no time estimate yet</span>}</dd>
            <dt>Cost</dt>
            <dd data-testid="job-estimate-cost">
              {e.estimatedCostMinor !== null ? <strong>{fmtUsd(e.estimatedCostMinor)}</strong> : <span className="muted">no cost estimate</span>}{' '}
              <span className="muted">
                at {fmtUsd(e.price.perMillionTokensMinor)} per million tokens, {e.price.plan} plan
              </span>
            </dd>
            {e.memory && (
              <>
                <dt>Peak memory</dt>
                <dd data-testid="job-estimate-memory">
                  about {fmtBytes(e.memory.peakBytes)}
                  {e.memory.capacityBytes !== null && (
                    <span className="muted">
                      {' '}
                      of {fmtBytes(e.memory.capacityBytes)} on training pool &apos;{e.memory.pool}&apos;
                    </span>
                  )}
                  {e.memory.gradientCheckpointing && <span className="muted"> · gradient checkpointing on, to fit</span>}
                </dd>
              </>
            )}
            {e.spendingCap && (
              <>
                <dt>Spending cap</dt>
                <dd data-testid="job-estimate-cap">
                  {fmtUsd(e.spendingCap.spentThisMonthMinor)} spent of {fmtUsd(e.spendingCap.monthlyCapMinor)} this month;{' '}
                  {fmtUsd(e.spendingCap.remainingMinor)} left
                </dd>
              </>
            )}
          </dl>
          <p className="hint" data-testid="job-estimate-basis">
            {e.basis}
          </p>
          {e.exceedsCap && e.spendingCap && (
            <div className="alert warn" role="alert" data-testid="job-estimate-over-cap">
              At {fmtUsd(e.estimatedCostMinor)} this job would take this month&apos;s spending past the cap of {fmtUsd(e.spendingCap.monthlyCapMinor)}, so it
              will not start. Train on less data or fewer epochs, or raise the cap
              {manageBilling.allowed ? (
                <>
                  {' '}
                  on the <Link href="/billing">Billing page</Link>
                </>
              ) : (
                ' (an owner can, on the Billing page)'
              )}
              .
            </div>
          )}
        </>
      )}
      {error && (
        <p className="hint" data-testid="job-estimate-error">
          {e ? 'Not updated: ' : 'No estimate yet: '}
          {error}
        </p>
      )}
    </div>
  );
}
