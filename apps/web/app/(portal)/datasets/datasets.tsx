'use client';
import Link from 'next/link';
import { useState } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import type { DatasetSummary } from '@/lib/types';
import { usePoll } from '@/lib/use-poll';
import { fmtBytes, fmtDate, fmtNum } from '@/lib/format';
import { formatLabels } from '@/lib/datasets';
import { UploadPanel, type UploadModelOption } from './upload-panel';

type Summary = DatasetSummary;

export function Datasets({ models }: { models: UploadModelOption[] }) {
  const list = usePoll(() => trpc.datasets.list.query({ limit: 50 }), null);
  // Older pages, fetched on demand; a reload of the first page starts over.
  const [older, setOlder] = useState<{ rows: Summary[]; hasMore: boolean } | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  const rows = [...(list.data?.data ?? []), ...(older?.rows ?? [])];
  const hasMore = older ? older.hasMore : (list.data?.hasMore ?? false);

  async function reload() {
    setOlder(null);
    await list.reload();
  }

  async function more() {
    setMoreError(null);
    try {
      const page = await trpc.datasets.list.query({ limit: 50, after: rows[rows.length - 1]?.id });
      setOlder((o) => ({ rows: [...(o?.rows ?? []), ...page.data], hasMore: page.hasMore }));
    } catch (e) {
      setMoreError(errorMessage(e));
    }
  }

  return (
    <>
      <div className="page-head">
        <h1>Datasets</h1>
      </div>
      <UploadPanel models={models} onUploaded={reload} />
      <div className="card">
        <h2>Your datasets</h2>
        {list.error && <div className="alert error">{list.error}</div>}
        <div className="table-wrap">
          <table data-testid="datasets-table">
            <thead>
              <tr>
                <th>Dataset</th>
                <th className="num">Versions</th>
                <th>Latest</th>
                <th>Format</th>
                <th className="num">Examples</th>
                <th className="num">Size</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-testid="dataset-row" data-dataset-id={d.id} data-dataset-name={d.name} data-file-id={d.latestVersion?.id ?? ''}>
                  <td>
                    <Link href={`/datasets/${d.id}`} data-testid="dataset-link">
                      {d.name}
                    </Link>
                  </td>
                  <td className="num">{d.versions}</td>
                  <td>{d.latestVersion ? <span data-testid="dataset-latest">v{d.latestVersion.version}</span> : '—'}</td>
                  <td>{d.latestVersion ? (formatLabels[d.latestVersion.format] ?? d.latestVersion.format) : '—'}</td>
                  <td className="num">{d.latestVersion ? fmtNum(d.latestVersion.examples, 0) : '—'}</td>
                  <td className="num">{d.latestVersion ? fmtBytes(d.latestVersion.bytes) : '—'}</td>
                  <td>{fmtDate(d.latestVersion?.createdAt ?? d.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data && rows.length === 0 && <div className="empty">No datasets yet — upload a file above.</div>}
          {list.loading && <div className="empty">Loading…</div>}
        </div>
        {moreError && <div className="alert error">{moreError}</div>}
        {hasMore && (
          <div className="row" style={{ marginTop: 12 }}>
            <button type="button" className="secondary" onClick={() => void more()} data-testid="datasets-more">
              Show older datasets
            </button>
          </div>
        )}
      </div>
    </>
  );
}
