'use client';
import Link from 'next/link';
import { trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtDate, fmtNum, fmtPct } from '@/lib/format';
import { VariantsTable } from '@/components/variants-table';
import { CopyButton } from '@/components/copy-button';
import type { Manifest } from '@edgetune/contracts';

export function ModelVersionView({ name }: { name: string }) {
  const v = usePoll(() => trpc.models.get.query({ name }), null, [name]);
  if (!v.data) {
    return (
      <>
        <div className="page-head">
          <h1>
            <code>{name}</code>
          </h1>
        </div>
        {v.error ? <div className="alert error">{v.error}</div> : <div className="empty">Loading…</div>}
      </>
    );
  }
  const d = v.data;
  // Stored as JSON: read it as a manifest whose fields may be missing.
  const manifest = d.manifest as Partial<Manifest>;
  const manifestJson = JSON.stringify(d.manifest, null, 2);
  return (
    <>
      <div className="page-head">
        <h1>
          <code data-testid="model-name">{d.name}</code> <span className="muted">v{d.version}</span>
        </h1>
        <Link href="/models" className="button secondary">
          All models
        </Link>
      </div>
      <div className="card">
        <dl className="kv">
          <dt>Base model</dt>
          <dd>{d.baseModel}</dd>
          <dt>Fine-tuning job</dt>
          <dd>
            <Link href={`/jobs/${d.jobId}`}>
              <code>{d.jobId}</code>
            </Link>
          </dd>
          <dt>Published</dt>
          <dd>{fmtDate(d.createdAt)}</dd>
          {manifest.llama_cpp_version && (
            <>
              <dt>llama.cpp</dt>
              <dd>
                <code>{manifest.llama_cpp_version}</code>
              </dd>
            </>
          )}
          {manifest.evaluation && (
            <>
              <dt>Evaluation</dt>
              <dd>
                loss {fmtNum(manifest.evaluation.loss, 4)} · token accuracy {fmtPct(manifest.evaluation.token_accuracy)} · task accuracy{' '}
                {fmtPct(manifest.evaluation.task_accuracy)} (base model {fmtPct(manifest.evaluation.base_task_accuracy)}) on {manifest.evaluation.examples} examples
              </dd>
            </>
          )}
          <dt>Signature</dt>
          <dd>
            {manifest.signature ? (
              <>
                {manifest.signature.algorithm}, key <code>{manifest.signature.key_id}</code>
              </>
            ) : (
              <span className="muted">unsigned</span>
            )}
          </dd>
        </dl>
      </div>
      <div className="card">
        <h2>Variants</h2>
        <VariantsTable version={d} />
      </div>
      <div className="card">
        <div className="page-head">
          <h2 style={{ margin: 0 }}>Manifest</h2>
          <CopyButton text={manifestJson} label="Copy JSON" />
        </div>
        <pre className="json" data-testid="manifest-json">
          {manifestJson}
        </pre>
      </div>
    </>
  );
}
