'use client';
import Link from 'next/link';
import { trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtBytes, fmtDate, fmtNum, fmtParams } from '@/lib/format';

export function Models() {
  const models = usePoll(() => trpc.models.list.query(), null);
  const versions = models.data?.versions ?? [];
  return (
    <>
      <div className="page-head">
        <h1>Models</h1>
      </div>
      {models.error && <div className="alert error">{models.error}</div>}
      <div className="card">
        <h2>Your fine-tuned models</h2>
        <div className="table-wrap">
          <table data-testid="versions-table">
            <thead>
              <tr>
                <th>Model</th>
                <th>Version</th>
                <th>Base</th>
                <th>Devices</th>
                <th className="num">Variants</th>
                <th className="num">Selected size</th>
                <th>Job</th>
                <th>Published</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => {
                const devices = [...new Set(v.variants.map((x) => x.device))];
                const selected = v.variants.filter((x) => x.selected);
                return (
                  <tr key={v.id} data-testid="version-row" data-model={v.name}>
                    <td>
                      <Link href={`/models/${encodeURIComponent(v.name)}`}>
                        <code>{v.name}</code>
                      </Link>
                    </td>
                    <td>v{v.version}</td>
                    <td>{v.baseModel}</td>
                    <td>{devices.join(', ')}</td>
                    <td className="num">{v.variants.length}</td>
                    <td className="num">{selected.map((x) => `${x.quantization} ${fmtBytes(x.sizeBytes)}`).join(', ') || '—'}</td>
                    <td>
                      <Link href={`/jobs/${v.jobId}`}>
                        <code>{v.jobId}</code>
                      </Link>
                    </td>
                    <td>{fmtDate(v.createdAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {models.data && versions.length === 0 && (
            <div className="empty">
              Nothing published yet. A model version is published when a <Link href="/jobs">fine-tuning job</Link> succeeds.
            </div>
          )}
          {models.loading && <div className="empty">Loading…</div>}
        </div>
      </div>
      <div className="card">
        <h2>Base models you can fine-tune</h2>
        <div className="table-wrap">
          <table data-testid="base-models-table">
            <thead>
              <tr>
                <th>Id</th>
                <th>Name</th>
                <th className="num">Parameters</th>
                <th className="num">Context</th>
                <th>Methods</th>
                <th>License</th>
                <th>Notes</th>
              </tr>
            </thead>
            <tbody>
              {(models.data?.baseModels ?? []).map((m) => (
                <tr key={m.id}>
                  <td>
                    <code>{m.id}</code>
                  </td>
                  <td>{m.name}</td>
                  <td className="num">{fmtParams(m.parameters)}</td>
                  <td className="num">{fmtNum(m.contextLength, 0)}</td>
                  <td>{m.methods.join(', ')}</td>
                  <td>{m.license}</td>
                  <td className="small muted">{m.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}
