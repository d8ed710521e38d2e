'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtBytes, fmtDate, fmtDuration, fmtNum } from '@/lib/format';
import type { DatasetContainer } from '@edgetune/contracts';
import { formatLabels, readReport, statLabel, type ReadReport, type WarningLink } from '@/lib/datasets';
import type { DatasetDetail, DatasetEstimate } from '@/lib/types';
import { DatasetRecord } from '@/components/dataset-record';
import { CountBars, Histogram } from '@/components/histogram';
import { StatusBadge } from '@/components/status-badge';
import { DeniedReason } from '@/components/denied-reason';
import { usePermission } from '@/lib/me';

type Version = DatasetDetail['versions'][number];

export interface EstimateModelOption {
  id: string;
  name: string;
  contextLength: number;
}

const PAGE = 10;
/** The first record of the preview page that holds `record`. */
const pageOf = (record: number) => Math.floor((record - 1) / PAGE) * PAGE;

/** `record` is a record of the stored file (the preview's numbering), not a line of the upload. */
function versionHref(datasetId: string, fileId: string, record?: number): string {
  const q = new URLSearchParams({ version: fileId });
  if (record) q.set('record', String(record));
  return `/datasets/${encodeURIComponent(datasetId)}?${q.toString()}${record ? '#preview' : ''}`;
}

export function DatasetView({ id, versionId, record, models }: { id: string; versionId: string | null; record: number | null; models: EstimateModelOption[] }) {
  const router = useRouter();
  const ds = usePoll(() => trpc.datasets.get.query({ id }), null, [id]);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  // Deleting a dataset needs the same right as adding one.
  const deletePerm = usePermission('upload');

  const versions = [...(ds.data?.versions ?? [])].sort((a, b) => (b.version ?? 0) - (a.version ?? 0));
  const selected = versions.find((v) => v.id === versionId) ?? versions[0] ?? null;

  async function onDelete() {
    if (!ds.data || !window.confirm(`Delete the dataset ${ds.data.name} and all its versions?`)) return;
    setDeleting(true);
    setDeleteError(null);
    try {
      await trpc.datasets.delete.mutate({ id });
      router.push('/datasets');
    } catch (e) {
      setDeleteError(errorMessage(e));
      setDeleting(false);
    }
  }

  if (ds.error && !ds.data) {
    return (
      <>
        <div className="page-head">
          <h1>Dataset</h1>
        </div>
        <div className="alert error" data-testid="dataset-error">
          {ds.error}
        </div>
        <Link href="/datasets">← All datasets</Link>
      </>
    );
  }
  if (!ds.data) return <div className="empty">Loading…</div>;
  const d = ds.data;

  return (
    <>
      <div className="page-head">
        <h1>
          <span className="muted">Dataset</span> <span data-testid="dataset-name">{d.name}</span>
        </h1>
        <div className="row">
          <Link href="/datasets" className="button secondary">
            All datasets
          </Link>
          <button
            type="button"
            className="danger"
            disabled={deleting || !deletePerm.allowed}
            title={deletePerm.reason ?? undefined}
            onClick={() => void onDelete()}
            data-testid="dataset-delete"
          >
            {deleting ? 'Deleting…' : 'Delete dataset'}
          </button>
          <DeniedReason permission={deletePerm} testid="dataset-delete-reason" />
        </div>
      </div>
      {deleteError && (
        <div className="alert error" data-testid="dataset-delete-error">
          {deleteError}
        </div>
      )}

      <div className="card">
        <h2>Versions</h2>
        <p className="muted small">
          Every version is immutable and addressed by the SHA-256 of the uploaded bytes; uploading the same bytes to this dataset again reuses its version.
        </p>
        <div className="table-wrap">
          <table data-testid="versions-table">
            <thead>
              <tr>
                <th>Version</th>
                <th>sha256</th>
                <th>Format</th>
                <th className="num">Examples</th>
                <th className="num">Size</th>
                <th>Created</th>
                <th>Used by</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr
                  key={v.id}
                  className={v.id === selected?.id ? 'selected' : ''}
                  data-testid="version-row"
                  data-file-id={v.id}
                  data-version={v.version ?? ''}
                  data-selected={v.id === selected?.id ? 'true' : 'false'}
                >
                  <td>
                    <Link href={versionHref(d.id, v.id)} scroll={false} data-testid="version-link">
                      v{v.version}
                    </Link>{' '}
                    <code className="muted small">{v.id}</code>
                  </td>
                  <td>
                    <code title={v.sha256}>{v.sha256.slice(0, 12)}</code>
                  </td>
                  <td>{formatLabels[v.format] ?? v.format}</td>
                  <td className="num">{fmtNum(v.examples, 0)}</td>
                  <td className="num">{fmtBytes(v.bytes)}</td>
                  <td>{fmtDate(v.createdAt)}</td>
                  <td data-testid="version-used-by">
                    {v.usedBy.jobs.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      v.usedBy.jobs.map((j) => (
                        <div key={j.id} className="small">
                          <Link href={`/jobs/${j.id}`}>{j.id}</Link> <StatusBadge status={j.status} />
                          {j.role === 'validation' && <span className="muted"> (validation data)</span>}
                          {j.fineTunedModel && (
                            <>
                              {' → '}
                              <Link href={`/models/${encodeURIComponent(j.fineTunedModel)}`}>{j.fineTunedModel}</Link>
                            </>
                          )}
                        </div>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {versions.length === 0 && <div className="empty">No versions.</div>}
        </div>
      </div>

      {selected && <VersionDetail key={selected.id} datasetId={d.id} version={selected} record={record} models={models} />}
    </>
  );
}

function VersionDetail({ datasetId, version, record, models }: { datasetId: string; version: Version; record: number | null; models: EstimateModelOption[] }) {
  const source = version.source;
  const report = readReport(version.report, source?.container);
  const columns = source?.columns ?? null;
  return (
    <>
      <div className="card" data-testid="version-stats" data-file-id={version.id}>
        <h2>
          Version {version.version} — statistics
        </h2>
        <p className="muted small">
          {formatLabels[version.format] ?? version.format}
          {source && <> · uploaded as {source.container.toUpperCase()}</>}
          {source && source.compression !== 'none' && <> ({source.compression})</>}
          {source && (
            <>
              {' '}
              · <code>{source.filename}</code>
            </>
          )}
          {columns && (
            <>
              {' '}
              · columns {Object.entries(columns).map(([field, col]) => `${field} ← ${col}`).join(', ')}
            </>
          )}
        </p>
        <Stats report={report} examples={version.examples} />
      </div>
      <Estimate fileId={version.id} models={models} defaultModel={report.tokenizer?.baseModel ?? null} />
      <ValidationReport datasetId={datasetId} fileId={version.id} report={report} container={source?.container ?? null} />
      <Preview fileId={version.id} record={record} report={report} />
    </>
  );
}

function Stats({ report, examples }: { report: ReadReport; examples: number }) {
  const t = report.tokens;
  const shown = new Set(['examples', 'tokens', 'tokenizer', 'lines']);
  const totals = report.totals.filter(([k]) => !shown.has(k));
  return (
    <>
      <div className="stats" data-testid="stats-totals">
        <div className="stat">
          <div className="label">Examples</div>
          <div className="value" data-testid="stat-examples">
            {fmtNum(report.examples ?? examples, 0)}
          </div>
        </div>
        {t && (
          <>
            <div className="stat">
              <div className="label">Training tokens (1 epoch)</div>
              <div className="value" data-testid="stat-tokens">
                {fmtNum(t.total, 0)}
              </div>
            </div>
            <div className="stat">
              <div className="label">Tokens / example (mean · p50 · p95 · max)</div>
              <div className="value">
                {fmtNum(t.mean, 1)} · {fmtNum(t.p50, 0)} · {fmtNum(t.p95, 0)} · {fmtNum(t.max, 0)}
              </div>
            </div>
          </>
        )}
        {totals.map(([k, v]) => (
          <div className="stat" key={k}>
            <div className="label">{statLabel(k)}</div>
            <div className="value">{fmtNum(v, 1)}</div>
          </div>
        ))}
      </div>
      <div className="charts">
        <div>
          <h3>Tokens per example</h3>
          {t && t.histogram.length > 0 ? (
            <>
              <Histogram bins={t.histogram} unit="tokens" testid="tokens-chart" />
              {report.tokenizer?.baseModel && <p className="hint">Counted with the real tokenizer of {report.tokenizer.baseModel}.</p>}
            </>
          ) : null}
          {!t && (
            <p className="hint" data-testid="tokenizer-note">
              Token statistics are not available for this version
              {report.tokenizer?.reason ? `: ${report.tokenizer.reason}` : '.'}
            </p>
          )}
        </div>
        {report.roles.length > 0 && (
          <div>
            <h3>Turns by role</h3>
            <CountBars items={report.roles} testid="roles-chart" />
          </div>
        )}
        {/* Only for classification-like data: answers that repeat. */}
        {report.labels.length > 1 && report.labels.length <= (report.examples ?? examples) / 2 && (
          <div>
            <h3>Final answers (label balance)</h3>
            <CountBars items={report.labels} testid="labels-chart" />
          </div>
        )}
      </div>
    </>
  );
}

function Estimate({ fileId, models, defaultModel }: { fileId: string; models: EstimateModelOption[]; defaultModel: string | null }) {
  const [model, setModel] = useState(models.find((m) => m.id === defaultModel)?.id ?? models[0]?.id ?? '');
  const [epochs, setEpochs] = useState('3');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<DatasetEstimate | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e?: FormEvent) {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await trpc.datasets.estimate.query({ fileId, baseModel: model, epochs: Number(epochs) }));
    } catch (err) {
      setResult(null);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="card" data-testid="estimate">
      <h2>Estimated training time and cost</h2>
      <form className="fields" onSubmit={onSubmit}>
        <div>
          <label htmlFor="est-model">Base model</label>
          <select id="est-model" value={model} onChange={(e) => setModel(e.target.value)} data-testid="estimate-model">
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="est-epochs">Epochs</label>
          <input id="est-epochs" type="number" min={1} max={50} step={1} value={epochs} onChange={(e) => setEpochs(e.target.value)} data-testid="estimate-epochs" />
        </div>
        <div style={{ alignSelf: 'end' }}>
          <button type="submit" disabled={busy || !model || !(Number(epochs) >= 1)} data-testid="estimate-submit">
            {busy ? 'Estimating…' : 'Estimate'}
          </button>
        </div>
      </form>
      {error && (
        <div className="alert error" data-testid="estimate-error">
          {error}
        </div>
      )}
      {result && (
        <div data-testid="estimate-result">
          <div className="stats" style={{ marginTop: 12 }}>
            <div className="stat">
              <div className="label">Tokens trained</div>
              <div className="value" data-testid="estimate-tokens">
                {result.tokens > 0 ? fmtNum(result.tokens, 0) : 'unknown'}
              </div>
            </div>
            <div className="stat">
              <div className="label">Training time</div>
              <div className="value" data-testid="estimate-time">
                {result.seconds == null ? 'unknown' : fmtDuration(result.seconds * 1000)}
              </div>
            </div>
            <div className="stat">
              <div className="label">Cost</div>
              <div className="value" data-testid="estimate-cost">
                {result.costMinor == null ? 'unknown' : `${(result.costMinor / 100).toFixed(2)} ${result.currency.toUpperCase()}`}
              </div>
            </div>
          </div>
          <p className="hint" data-testid="estimate-basis">
            {result.basis}
          </p>
        </div>
      )}
    </div>
  );
}

const warningLines = 30;

/** How the report's numbers count, said once above the warnings. */
function numbering(report: ReadReport, container: DatasetContainer | null): string {
  if (report.unit === 'line') {
    return 'Numbers are lines of the uploaded file, as an editor shows them (blank lines count); each opens the record that line became in the preview below.';
  }
  if (container === 'parquet') return 'Numbers are rows of the Parquet file (row 1 is the first); each opens that row in the preview below.';
  return 'Numbers are data rows (row 1 is the first row after the header), with the line of the file where the row starts in brackets; each opens that row in the preview below.';
}

/** "line 7" / "row 4 (line 9 of the file)": where a listed example is in the upload. */
function origin(unit: ReadReport['unit'], l: WarningLink): string {
  return unit === 'line' ? `line ${l.at} of the upload` : `row ${l.at}${l.fileLine ? ` (line ${l.fileLine} of the file)` : ''}`;
}

function ValidationReport({ datasetId, fileId, report, container }: { datasetId: string; fileId: string; report: ReadReport; container: DatasetContainer | null }) {
  const units = report.unit === 'line' ? 'lines' : 'rows';
  return (
    <div className="card" data-testid="validation-report">
      <h2>Validation report</h2>
      {report.warnings.length === 0 ? (
        <div className="alert ok" data-testid="report-clean">
          Every example passed validation without warnings.
        </div>
      ) : (
        <>
          {report.warnings.some((w) => w.links.length > 0) && (
            <p className="muted small" data-testid="report-numbering" data-unit={report.unit}>
              {numbering(report, container)}
              {report.approximateLinks && ' This report is older than record links: where the upload had blank lines, a link opens a record near the line, not on it.'}
            </p>
          )}
          <ul className="warnings">
            {report.warnings.map((w) => (
              <li key={w.code} data-testid="report-warning" data-code={w.code} data-count={w.count}>
                <div>
                  <span className="badge warn">{w.count.toLocaleString('en-US')}</span> <strong>{w.message}</strong> <code className="muted small">{w.code}</code>
                </div>
                {w.links.length > 0 && (
                  <div className="small lines">
                    {w.count > w.links.length || w.links.length > warningLines ? `First ${units}: ` : `${units[0].toUpperCase()}${units.slice(1)}: `}
                    {w.links.slice(0, warningLines).map((l, i) => (
                      <span key={l.at}>
                        {i > 0 && ', '}
                        <Link
                          href={versionHref(datasetId, fileId, l.record)}
                          scroll={false}
                          title={`${origin(report.unit, l)}: record ${l.record} of the stored file`}
                          data-testid="warning-line-link"
                          data-line={l.at}
                          data-record={l.record}
                          data-file-line={l.fileLine ?? undefined}
                        >
                          {l.at}
                          {l.fileLine !== null && <span className="muted"> (line {l.fileLine})</span>}
                        </Link>
                      </span>
                    ))}
                  </div>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function Preview({ fileId, record, report }: { fileId: string; record: number | null; report: ReadReport }) {
  const [offset, setOffset] = useState(record ? pageOf(record) : 0);
  const page = usePoll(() => trpc.datasets.preview.query({ fileId, offset, limit: PAGE }), null, [fileId, offset]);
  const box = useRef<HTMLDivElement>(null);

  // A link to a record moves the preview to the page that holds it.
  useEffect(() => {
    if (record) setOffset(pageOf(record));
  }, [record]);

  // While the next page loads the previous one is still shown: act only on the page asked for.
  const current = page.data?.offset === offset;
  const records = page.data?.records ?? [];
  const total = page.data?.total ?? 0;

  useEffect(() => {
    if (!record || !current) return;
    box.current?.querySelector(`[data-record="${record}"]`)?.scrollIntoView({ block: 'center' });
  }, [records, record, current]);

  // Where the records a warning names came from in the upload (CSV and Parquet rows are records one to one).
  const origins = new Map<number, WarningLink>();
  for (const w of report.warnings) for (const l of w.links) if (!report.approximateLinks) origins.set(l.record, l);

  return (
    <div className="card" id="preview" data-testid="preview" ref={box}>
      <div className="page-head" style={{ marginBottom: 8 }}>
        <h2 style={{ margin: 0 }}>Preview</h2>
        <div className="row small">
          <span className="muted" data-testid="preview-range">
            {total === 0 ? 'no records' : `records ${offset + 1}–${Math.min(offset + PAGE, total)} of ${fmtNum(total, 0)}`}
          </span>
          <button type="button" className="secondary small" disabled={offset === 0} onClick={() => setOffset((o) => Math.max(0, o - PAGE))} data-testid="preview-prev">
            ← Previous
          </button>
          <button type="button" className="secondary small" disabled={offset + PAGE >= total} onClick={() => setOffset((o) => o + PAGE)} data-testid="preview-next">
            Next →
          </button>
        </div>
      </div>
      {page.error && <div className="alert error">{page.error}</div>}
      {page.loading && <div className="empty">Loading…</div>}
      {records.map((r) => {
        const from = origins.get(r.line);
        return (
          <div key={r.line} className={`preview-record${r.line === record ? ' focus' : ''}`} data-testid="preview-record" data-record={r.line}>
            <div className="record-line" data-testid="preview-record-label">
              {report.unit === 'row' ? (
                <>
                  row <strong>{r.line}</strong>
                  {from?.fileLine ? <span className="muted"> · line {from.fileLine} of the file</span> : null}
                </>
              ) : (
                <>
                  record <strong>{r.line}</strong>
                  {from ? <span className="muted"> · line {from.at} of the upload</span> : null}
                </>
              )}
            </div>
            {r.truncated ? (
              <div className="muted small" data-testid="preview-truncated">
                This record is {fmtBytes(r.truncated.bytes)} — too large to show here.
              </div>
            ) : (
              <DatasetRecord record={r.record} />
            )}
          </div>
        );
      })}
    </div>
  );
}
