'use client';
import { useState } from 'react';
import { trpc } from '@/lib/trpc';
import { usePermission } from '@/lib/me';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { DeniedReason } from '@/components/denied-reason';
import type { AuditEvent } from '@/lib/types';

const PAGE = 50;

function actorText(a: AuditEvent['actor']): string {
  return a.label ?? a.userId ?? a.keyId ?? '—';
}

/** `data` as short `key: value` pairs (the log holds ids, names and before/after values only). */
function detailsText(data: AuditEvent['data']): string {
  if (!data || typeof data !== 'object') return '';
  return Object.entries(data as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

function targetText(t: AuditEvent['target']): string {
  if (!t) return '—';
  return [t.type, t.id].filter(Boolean).join(' ');
}

/** `actions`: what the platform records, for the filter. */
export function AuditLog({ actions }: { actions: string[] }) {
  const perm = usePermission('view_audit');
  const [action, setAction] = useState('');
  // cursors[i] is the `before` of page i; the first page has none.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const log = usePoll(
    () =>
      perm.allowed
        ? trpc.audit.list.query({ limit: PAGE, before, action: action || undefined })
        : Promise.resolve({ data: [] as AuditEvent[], nextCursor: null }),
    null,
    [action, before, perm.allowed],
  );
  const rows = log.data?.data ?? [];
  const next = log.data?.nextCursor ?? null;

  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
        {perm.allowed && (
          <div className="row">
            <a className="button secondary" href="/api/v1/audit-events/export?format=csv" download data-testid="audit-export-csv">
              Export CSV
            </a>
            <a className="button secondary" href="/api/v1/audit-events/export?format=jsonl" download data-testid="audit-export-jsonl">
              Export JSONL
            </a>
          </div>
        )}
      </div>
      {!perm.allowed ? (
        <div className="card">
          <DeniedReason permission={perm} testid="audit-reason" />
        </div>
      ) : (
        <div className="card">
          <div className="row" style={{ marginBottom: 12 }}>
            <label htmlFor="audit-action" className="inline">
              Action
            </label>
            <select
              id="audit-action"
              value={action}
              onChange={(e) => {
                setAction(e.target.value);
                setCursors([undefined]);
              }}
              data-testid="audit-filter-action"
              style={{ maxWidth: 260 }}
            >
              <option value="">All actions</option>
              {actions.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </div>
          {log.error && <div className="alert error">{log.error}</div>}
          <div className="table-wrap">
            <table data-testid="audit-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Target</th>
                  <th>Outcome</th>
                  <th>IP</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((ev) => (
                  <tr key={ev.id} data-testid="audit-row" data-action={ev.action} data-outcome={ev.outcome}>
                    <td>{fmtDate(ev.at)}</td>
                    <td title={ev.actor.keyId ? `API key ${ev.actor.keyId}` : (ev.actor.userId ?? undefined)}>{actorText(ev.actor)}</td>
                    <td>
                      <code>{ev.action}</code>
                    </td>
                    <td>{targetText(ev.target)}</td>
                    <td>
                      <span className={`badge ${ev.outcome === 'success' ? 'ok' : 'failed'}`}>{ev.outcome}</span>
                    </td>
                    <td title={ev.userAgent ?? undefined}>{ev.ip ?? '—'}</td>
                    <td className="small">{detailsText(ev.data)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {log.data && rows.length === 0 && <div className="empty">No events{action ? ` for ${action}` : ''}.</div>}
            {log.loading && <div className="empty">Loading…</div>}
          </div>
          <div className="row" style={{ marginTop: 12 }}>
            <button type="button" className="secondary small" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))} data-testid="audit-newer">
              ← Newer
            </button>
            <span className="small muted">Page {cursors.length}</span>
            <button type="button" className="secondary small" disabled={next == null} onClick={() => setCursors((c) => [...c, next ?? undefined])} data-testid="audit-older">
              Older →
            </button>
          </div>
        </div>
      )}
    </>
  );
}
