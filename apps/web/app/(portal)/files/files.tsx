'use client';
import { useRef, useState, type FormEvent } from 'react';
import { errorMessage, trpc, unsaidDetails } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtBytes, fmtDate } from '@/lib/format';
import { uploadFile, type ApiErrorBody, type UploadedFile } from '@/lib/upload';

export function Files() {
  const files = usePoll(() => trpc.files.list.query({}), null);
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<UploadedFile | null>(null);
  const [uploadError, setUploadError] = useState<ApiErrorBody | null>(null);
  const [listError, setListError] = useState<string | null>(null);

  async function onUpload(e: FormEvent) {
    e.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) return;
    setResult(null);
    setUploadError(null);
    setProgress(0);
    const out = await uploadFile(file, setProgress);
    setProgress(null);
    if (out.ok) {
      setResult(out.file);
      if (input.current) input.current.value = '';
      await files.reload();
    } else {
      setUploadError(out.error);
    }
  }

  async function onDelete(id: string, filename: string) {
    if (!window.confirm(`Delete ${filename}?`)) return;
    setListError(null);
    try {
      await trpc.files.delete.mutate({ id });
      await files.reload();
    } catch (err) {
      setListError(errorMessage(err));
    }
  }

  const details = uploadError ? unsaidDetails(uploadError.message, uploadError.details) : [];

  return (
    <>
      <div className="page-head">
        <h1>Files</h1>
      </div>
      <div className="card">
        <h2>Upload a dataset</h2>
        <p className="muted">
          Chat JSONL, one conversation per line, as OpenAI&apos;s fine-tuning format:{' '}
          <code>{'{"messages":[{"role":"user","content":"…"},{"role":"assistant","content":"…"}]}'}</code>. Every line is checked on upload.
        </p>
        <form className="row" onSubmit={onUpload}>
          <input
            ref={input}
            type="file"
            accept=".jsonl,.json,application/jsonl,application/x-ndjson,text/plain"
            onChange={() => setUploadError(null)}
            data-testid="upload-input"
          />
          <button type="submit" disabled={progress !== null} data-testid="upload-submit">
            {progress !== null ? 'Uploading…' : 'Upload'}
          </button>
        </form>
        {progress !== null && (
          <div data-testid="upload-progress">
            <div className="progress">
              <div style={{ width: `${Math.round(progress * 100)}%` }} />
            </div>
            <span className="small muted">{progress < 1 ? `${Math.round(progress * 100)}% sent` : 'Validating…'}</span>
          </div>
        )}
        {uploadError && (
          <div className="alert error" data-testid="upload-error">
            <strong>{uploadError.message}</strong>
            {details.length > 0 && (
              <ul>
                {details.map((d, i) => (
                  <li key={i} data-testid="upload-error-detail">
                    {d}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {result && (
          <div className="alert ok" data-testid="upload-result" data-file-id={result.id}>
            Uploaded <strong>{result.filename}</strong> as <code>{result.id}</code>
            {typeof result.bytes === 'number' ? ` (${fmtBytes(result.bytes)})` : ''}.
          </div>
        )}
      </div>
      <div className="card">
        <h2>Your files</h2>
        {(files.error || listError) && <div className="alert error">{files.error ?? listError}</div>}
        <div className="table-wrap">
          <table data-testid="files-table">
            <thead>
              <tr>
                <th>File</th>
                <th>Id</th>
                <th className="num">Examples</th>
                <th className="num">Size</th>
                <th>sha256</th>
                <th>Uploaded</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {files.data?.data.map((f) => (
                <tr key={f.id} data-testid="file-row" data-file-id={f.id}>
                  <td>{f.filename}</td>
                  <td>
                    <code>{f.id}</code>
                  </td>
                  <td className="num">{f.examples}</td>
                  <td className="num">{fmtBytes(f.bytes)}</td>
                  <td>
                    <code title={f.sha256}>{f.sha256.slice(0, 12)}…</code>
                  </td>
                  <td>{fmtDate(f.createdAt)}</td>
                  <td>
                    <button type="button" className="secondary small" onClick={() => void onDelete(f.id, f.filename)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {files.data && files.data.data.length === 0 && <div className="empty">No files yet.</div>}
          {files.loading && <div className="empty">Loading…</div>}
        </div>
      </div>
    </>
  );
}
