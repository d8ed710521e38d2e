'use client';
import Link from 'next/link';
import { trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { isTerminal } from '@/lib/jobs';
import { StatusBadge } from '@/components/status-badge';

export function Jobs() {
  const jobs = usePoll(() => trpc.jobs.list.query({}), 5_000);
  const rows = jobs.data?.data ?? [];
  return (
    <>
      <div className="page-head">
        <h1>Fine-tuning jobs</h1>
        <Link href="/jobs/new" className="button" data-testid="new-job">
          New job
        </Link>
      </div>
      {jobs.error && <div className="alert error">{jobs.error}</div>}
      <div className="table-wrap">
        <table data-testid="jobs-table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Status</th>
              <th>Base model</th>
              <th>Fine-tuned model</th>
              <th>Target devices</th>
              <th>Created</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.id} data-testid="job-row" data-job-id={j.id}>
                <td>
                  <Link href={`/jobs/${j.id}`}>
                    <code>{j.id}</code>
                  </Link>
                </td>
                <td>
                  <StatusBadge status={j.status} />
                </td>
                <td>{j.baseModel}</td>
                <td>{j.fineTunedModel ? <code>{j.fineTunedModel}</code> : <span className="muted">—</span>}</td>
                <td>{j.targetDevices.join(', ')}</td>
                <td>{fmtDate(j.createdAt)}</td>
                <td>{isTerminal(j.status) ? fmtDate(j.finishedAt) : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {jobs.data && rows.length === 0 && (
          <div className="empty">
            No jobs yet. Upload a dataset under <Link href="/datasets">Datasets</Link>, then start a <Link href="/jobs/new">new job</Link>.
          </div>
        )}
        {jobs.loading && <div className="empty">Loading…</div>}
      </div>
    </>
  );
}
