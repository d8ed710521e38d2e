'use client';
import Link from 'next/link';
import { useEffect, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { fmtBytes, fmtDate } from '@/lib/format';
import { columnsFromError, containerOf, formatLabels, guessFormat, guessMapping, mappingTargets, readCsvHeader, type DatasetFormat } from '@/lib/datasets';
import { readParquetColumns } from '@/lib/parquet-columns';
import { usePermission } from '@/lib/me';
import { DeniedReason } from '@/components/denied-reason';
import {
  discardUpload,
  pendingFor,
  pendingUploads,
  uploadDataset,
  type ApiErrorBody,
  type CompletedUpload,
  type PendingUpload,
  type UploadOptions,
  type UploadProgress,
} from '@/lib/upload';

type FormatChoice = UploadOptions['format'] & string;
const formats: FormatChoice[] = ['auto', 'chat', 'prompt_completion', 'preference'];

export interface UploadModelOption {
  id: string;
  name: string;
}

function pct(sent: number, total: number): number {
  return total > 0 ? Math.floor((sent / total) * 100) : 100;
}

/** A file's column names for the mapping: read in the browser, or (zstd, unreadable Parquet) typed by hand. */
async function readColumns(file: File): Promise<{ columns: string[]; note: string | null }> {
  try {
    if (containerOf(file.name) === 'parquet') return { columns: await readParquetColumns(file), note: null };
    const columns = await readCsvHeader(file);
    return { columns, note: columns.length ? null : 'The header could not be read here; type the column names.' };
  } catch (e) {
    return { columns: [], note: `The columns could not be read here (${e instanceof Error ? e.message : String(e)}); type them.` };
  }
}

export function UploadPanel({ models, onUploaded }: { models: UploadModelOption[]; onUploaded: () => void | Promise<void> }) {
  const uploadPerm = usePermission('upload');
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [dragging, setDragging] = useState(false);
  const [dataset, setDataset] = useState('');
  const [format, setFormat] = useState<FormatChoice>('auto');
  const [baseModel, setBaseModel] = useState('');
  const [columns, setColumns] = useState<string[] | null>(null);
  const [columnsNote, setColumnsNote] = useState<string | null>(null);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<CompletedUpload | null>(null);
  const [error, setError] = useState<ApiErrorBody | null>(null);
  /** The upload that stopped on a dropped connection and can continue. */
  const [paused, setPaused] = useState<{ id: string; file: File; options: UploadOptions } | null>(null);
  /** Unfinished uploads remembered from before a reload. */
  const [pending, setPending] = useState<PendingUpload[]>([]);
  /** The chosen file is one of those: offer to continue it. */
  const [resumable, setResumable] = useState<{ pending: PendingUpload; offset: number | null } | null>(null);

  useEffect(() => {
    setPending(pendingUploads());
    return () => abort.current?.abort();
  }, []);

  const container = file ? containerOf(file.name) : 'jsonl';
  const tabular = container !== 'jsonl';
  const effectiveFormat: DatasetFormat = format === 'auto' ? guessFormat(columns ?? Object.values(mapping)) : format;

  async function choose(f: File | null) {
    setFile(f);
    setError(null);
    setResult(null);
    setPaused(null);
    setProgress(null);
    setColumns(null);
    setColumnsNote(null);
    setMapping({});
    setResumable(null);
    if (!f) return;
    const p = pendingFor(f);
    if (p) {
      setResumable({ pending: p, offset: null });
      // Where the server stands, to say how much is left.
      fetch(`/api/v1/uploads/${encodeURIComponent(p.id)}`)
        .then((r) => (r.ok ? r.json() : null))
        .then((s: { offset?: number; status?: string } | null) => {
          if (s && typeof s.offset === 'number' && (s.status === undefined || s.status === 'open')) setResumable({ pending: p, offset: s.offset });
          else if (s === null || s.status !== 'open') {
            // Gone (expired, finished or aborted): nothing to resume.
            void discardUpload(p.id).then(() => setPending(pendingUploads()));
            setResumable(null);
          }
        })
        .catch(() => undefined);
    }
    if (containerOf(f.name) !== 'jsonl') {
      const { columns: cols, note } = await readColumns(f);
      setColumns(cols.length ? cols : null);
      setColumnsNote(note);
      if (cols.length) setMapping(guessMapping(format === 'auto' ? guessFormat(cols) : format, cols));
    }
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    if (busy) return;
    const f = e.dataTransfer.files?.[0];
    if (f) void choose(f);
  }

  function options(): UploadOptions {
    const cols = tabular ? Object.fromEntries(mappingTargets[effectiveFormat].filter((t) => mapping[t.field]?.trim()).map((t) => [t.field, mapping[t.field].trim()])) : undefined;
    return {
      dataset: dataset.trim() || undefined,
      format,
      columns: cols && Object.keys(cols).length ? cols : undefined,
      baseModel: baseModel || undefined,
    };
  }

  async function run(f: File, opts: UploadOptions, resumeId: string | null) {
    setBusy(true);
    setError(null);
    setResult(null);
    setPaused(null);
    setResumable(null);
    const ctl = new AbortController();
    abort.current = ctl;
    let uploadId: string | null = resumeId;
    try {
      const out = await uploadDataset(f, opts, {
        resumeId,
        onProgress: (p) => {
          uploadId = p.uploadId ?? uploadId;
          setProgress(p);
        },
        signal: ctl.signal,
      });
      if (out.ok) {
        setResult(out.result);
        setProgress((p) => (p ? { ...p, sent: p.total } : p));
        if (input.current) input.current.value = '';
        setFile(null);
        await onUploaded();
      } else {
        setError(out.error);
        if (out.resumable && out.uploadId) setPaused({ id: out.uploadId, file: f, options: opts });
        else setProgress(null);
        if (tabular && !columns) {
          const listed = columnsFromError(out.error);
          if (listed.length) setColumns(listed);
        }
      }
    } catch (e) {
      if ((e as Error).name === 'AbortError' && uploadId) {
        // Paused by the user: the bytes sent so far stay on the server.
        setError({ code: 'paused', message: 'you paused it', param: null });
        setPaused({ id: uploadId, file: f, options: opts });
      } else {
        if ((e as Error).name !== 'AbortError') setError({ code: 'client', message: e instanceof Error ? e.message : String(e), param: null });
        setProgress(null);
      }
    } finally {
      abort.current = null;
      setBusy(false);
      setPending(pendingUploads());
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!file || busy) return;
    void run(file, options(), null);
  }

  async function discard(id: string) {
    await discardUpload(id);
    setPending(pendingUploads());
    if (resumable?.pending.id === id) setResumable(null);
    if (paused?.id === id) {
      setPaused(null);
      setProgress(null);
    }
  }

  const percent = progress ? pct(progress.sent, progress.total) : 0;
  const othersPending = pending.filter((p) => p.id !== resumable?.pending.id && p.id !== paused?.id);
  const details = error?.details ?? [];
  const total = typeof error?.total === 'number' ? error.total : typeof error?.count === 'number' ? error.count : null;

  return (
    <div className="card" data-testid="upload-panel">
      <h2>Upload a dataset</h2>
      <p className="muted">
        Chat JSONL (OpenAI&apos;s <code>messages</code> format, tool calls and per-message <code>weight</code>), prompt/completion JSONL, preference JSONL (
        <code>prompt</code>, <code>chosen</code>, <code>rejected</code>), or CSV / Parquet with a column mapping — optionally gzip or zstd compressed. Every line
        is checked before the dataset can be used; uploading the same bytes again reuses the existing version.{' '}
        <span data-testid="upload-formats-guide">
          Which formats? See the{' '}
          <Link href="/docs/datasets" target="_blank">
            dataset formats guide
          </Link>
          .
        </span>
      </p>

      {othersPending.length > 0 && (
        <div className="alert info" data-testid="pending-uploads">
          <strong>Unfinished uploads.</strong> Choose the same file again to continue where it stopped:
          <ul>
            {othersPending.map((p) => (
              <li key={p.id} data-testid="pending-upload" data-upload-id={p.id}>
                <code>{p.name}</code> ({fmtBytes(p.size)}), started {fmtDate(p.startedAt)}{' '}
                <button type="button" className="link" onClick={() => void discard(p.id)}>
                  discard
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}

      <form onSubmit={onSubmit}>
        <div
          className={`dropzone${dragging ? ' dragging' : ''}${file ? ' chosen' : ''}`}
          data-testid="upload-dropzone"
          onDragEnter={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = 'copy';
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          {file ? (
            <div data-testid="upload-chosen">
              <strong>{file.name}</strong> <span className="muted">({fmtBytes(file.size)})</span>
            </div>
          ) : (
            <div>
              <strong>Drop a file here</strong> <span className="muted">or</span>
            </div>
          )}
          <input
            ref={input}
            type="file"
            accept=".jsonl,.json,.ndjson,.csv,.tsv,.parquet,.gz,.zst,.zstd,application/jsonl,application/x-ndjson,text/plain,text/csv"
            onChange={(e) => void choose(e.target.files?.[0] ?? null)}
            disabled={busy}
            data-testid="upload-input"
          />
        </div>

        {resumable && !busy && (
          <div className="alert info" data-testid="upload-resume-offer">
            You started uploading this file on {fmtDate(resumable.pending.startedAt)}
            {resumable.offset !== null && (
              <>
                {' '}
                — {fmtBytes(resumable.offset)} of {fmtBytes(resumable.pending.size)} ({pct(resumable.offset, resumable.pending.size)} %) are already on the server
              </>
            )}
            .
            <div className="row" style={{ marginTop: 8 }}>
              <button type="button" disabled={!uploadPerm.allowed} title={uploadPerm.reason ?? undefined} data-testid="upload-resume" onClick={() => file && void run(file, resumable.pending.options, resumable.pending.id)}>
                Resume upload
              </button>
              <button type="button" className="secondary" onClick={() => void discard(resumable.pending.id)}>
                Start over
              </button>
            </div>
          </div>
        )}

        <div className="fields">
          <div>
            <label htmlFor="upload-dataset">Dataset name (optional)</label>
            <input
              id="upload-dataset"
              type="text"
              placeholder={file ? file.name.replace(/\..*$/, '') : 'named after the file'}
              value={dataset}
              onChange={(e) => setDataset(e.target.value)}
              data-testid="upload-dataset"
            />
          </div>
          <div>
            <label htmlFor="upload-format">Format</label>
            <select
              id="upload-format"
              value={format}
              onChange={(e) => {
                const f = e.target.value as FormatChoice;
                setFormat(f);
                if (columns) setMapping(guessMapping(f === 'auto' ? guessFormat(columns) : f, columns));
              }}
              data-testid="upload-format"
            >
              {formats.map((f) => (
                <option key={f} value={f}>
                  {f === 'auto' ? 'Detect automatically' : formatLabels[f]}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="upload-model">Token statistics for</label>
            <select id="upload-model" value={baseModel} onChange={(e) => setBaseModel(e.target.value)} data-testid="upload-base-model">
              <option value="">Default base model</option>
              {models.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </div>
        </div>

        {tabular && (
          <div className="mapping" data-testid="column-mapping">
            <h3>Column mapping</h3>
            <p className="hint">
              Which {container === 'parquet' ? 'Parquet' : 'CSV'} column holds each field of a {formatLabels[effectiveFormat].toLowerCase()} record
              {format === 'auto' ? ' (format detected from the column names; choose one above to change it)' : ''}.
              {columns && (
                <>
                  {' '}
                  Columns in the file: <span data-testid="mapping-columns">{columns.join(', ')}</span>.
                </>
              )}
            </p>
            {columnsNote && <p className="hint">{columnsNote}</p>}
            <div className="fields">
              {mappingTargets[effectiveFormat].map((t) => (
                <div key={t.field}>
                  <label htmlFor={`map-${t.field}`}>
                    <code>{t.field}</code> <span className="hint">{t.hint}</span>
                  </label>
                  {columns ? (
                    <select
                      id={`map-${t.field}`}
                      value={mapping[t.field] ?? ''}
                      onChange={(e) => setMapping((m) => ({ ...m, [t.field]: e.target.value }))}
                      data-testid="mapping-select"
                      data-field={t.field}
                    >
                      <option value="">{t.optional ? '— none —' : '— choose a column —'}</option>
                      {columns.map((c) => (
                        <option key={c} value={c}>
                          {c}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input
                      id={`map-${t.field}`}
                      type="text"
                      placeholder="column name"
                      value={mapping[t.field] ?? ''}
                      onChange={(e) => setMapping((m) => ({ ...m, [t.field]: e.target.value }))}
                      data-testid="mapping-input"
                      data-field={t.field}
                    />
                  )}
                </div>
              ))}
            </div>
          </div>
        )}

        <div className="row" style={{ marginTop: 14 }}>
          <button type="submit" disabled={!uploadPerm.allowed || !file || busy} title={uploadPerm.reason ?? undefined} data-testid="upload-submit">
            {busy ? 'Uploading…' : 'Upload'}
          </button>
          <DeniedReason permission={uploadPerm} testid="upload-reason" />
          {busy && (
            <button type="button" className="secondary" onClick={() => abort.current?.abort()} data-testid="upload-cancel">
              Pause
            </button>
          )}
        </div>
      </form>

      {progress && (
        <div data-testid="upload-progress" data-phase={progress.phase} data-percent={percent}>
          <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
            <div style={{ width: `${percent}%` }} />
          </div>
          <span className="small muted">
            <span data-testid="upload-percent">{percent} %</span> — {fmtBytes(progress.sent)} of {fmtBytes(progress.total)}
            {progress.phase === 'starting' && ' — starting…'}
            {progress.phase === 'retrying' && ` — connection problem (${progress.reason ?? 'error'}), retry ${progress.attempt} in ${Math.round((progress.retryInMs ?? 0) / 100) / 10} s`}
            {progress.phase === 'validating' && !result && !error && (
              <span data-testid="validation-progress">
                {' — sent; validating every line: '}
                {pct(progress.validated ?? 0, progress.total)} % ({fmtBytes(progress.validated ?? 0)} of {fmtBytes(progress.total)}) checked…
              </span>
            )}
            {result && ' — done'}
          </span>
        </div>
      )}

      {paused && !busy && (
        <div className="alert info" data-testid="upload-paused">
          The upload of <code>{paused.file.name}</code> stopped at {progress ? `${percent} %` : 'part way'}: {error?.message ?? 'the connection dropped'}. The bytes sent so
          far are kept on the server.
          <div className="row" style={{ marginTop: 8 }}>
            <button type="button" disabled={!uploadPerm.allowed} title={uploadPerm.reason ?? undefined} data-testid="upload-resume" onClick={() => void run(paused.file, paused.options, paused.id)}>
              Resume upload
            </button>
            <button type="button" className="secondary" onClick={() => void discard(paused.id)}>
              Discard
            </button>
          </div>
        </div>
      )}

      {error && !paused && (
        <div className="alert error" data-testid="upload-error">
          <strong>{error.message}</strong>
          {details.length > 0 && (
            <div className="table-wrap" style={{ marginTop: 8 }}>
              <table className="errors">
                <thead>
                  <tr>
                    <th>Line</th>
                    <th>Field</th>
                    <th>Problem</th>
                  </tr>
                </thead>
                <tbody>
                  {details.map((d, i) => (
                    <tr key={i} data-testid="upload-error-detail" data-line={d.line ?? d.row ?? ''}>
                      <td className="num">{d.line != null ? `Line ${d.line}` : d.row != null ? `Row ${d.row}` : '—'}</td>
                      <td>{d.field ? <code>{d.field}</code> : '—'}</td>
                      <td>
                        {d.message}
                        {d.excerpt && (
                          <pre className="excerpt" data-testid="upload-error-excerpt">
                            {d.excerpt}
                          </pre>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {total !== null && total > details.length && (
            <p className="small" data-testid="upload-error-total">
              Showing the first {details.length} of {total} errors.
            </p>
          )}
        </div>
      )}

      {result && (
        <div
          className="alert ok"
          data-testid="upload-result"
          data-file-id={result.file.id}
          data-dataset-id={result.dataset?.id ?? ''}
          data-version={result.file.version ?? ''}
          data-reused={result.reused ? 'true' : 'false'}
        >
          {result.reused ? (
            <>
              These bytes were <strong>already uploaded as version {result.file.version ?? '?'}</strong> of{' '}
              <strong>{result.dataset?.name ?? 'this dataset'}</strong> — nothing new was stored ({result.file.filename ?? ''}, <code>{result.file.id}</code>).
            </>
          ) : (
            <>
              Uploaded <strong>{result.file.filename}</strong> as version {result.file.version ?? '?'} of <strong>{result.dataset?.name ?? 'its dataset'}</strong> (
              <code>{result.file.id}</code>
              {typeof result.file.bytes === 'number' ? `, ${fmtBytes(result.file.bytes)}` : ''}).
            </>
          )}{' '}
          {result.dataset && (
            <Link href={`/datasets/${result.dataset.id}?version=${encodeURIComponent(result.file.id)}`} data-testid="upload-open-dataset">
              Open the dataset
            </Link>
          )}
        </div>
      )}
    </div>
  );
}
