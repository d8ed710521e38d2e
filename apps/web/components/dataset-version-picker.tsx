'use client';
import { useEffect, useState } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { fmtNum } from '@/lib/format';
import type { DatasetDetail, DatasetSummary } from '@/lib/types';

/**
 * Training data as a dataset and one of its versions (the latest unless another is chosen). The
 * value is the version's file id, which is what a job references.
 */
export function DatasetVersionPicker({
  id,
  label,
  datasets,
  value,
  onChange,
  emptyLabel,
  required,
  testid,
}: {
  id: string;
  label: string;
  datasets: DatasetSummary[];
  value: string;
  /** The chosen version's file id, and its record format (what a job trains it with follows it). */
  onChange: (fileId: string, format: string | null) => void;
  emptyLabel: string;
  required?: boolean;
  /** Prefix of the two selects' test ids: `<testid>-dataset` and `<testid>-file` (the version). */
  testid: string;
}) {
  const [datasetId, setDatasetId] = useState('');
  const [detail, setDetail] = useState<DatasetDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setDetail(null);
    setError(null);
    if (!datasetId) return;
    let alive = true;
    trpc.datasets.get
      .query({ id: datasetId })
      .then((d) => alive && setDetail(d))
      .catch((e) => alive && setError(errorMessage(e)));
    return () => {
      alive = false;
    };
  }, [datasetId]);

  const summary = datasets.find((d) => d.id === datasetId);
  const latest = summary?.latestVersion ?? null;
  const versions: { id: string; version: number | null; examples: number; format: string | null }[] = detail
    ? detail.versions.map((v) => ({ id: v.id, version: v.version, examples: v.examples, format: v.format })).sort((a, b) => (b.version ?? 0) - (a.version ?? 0))
    : latest
      ? [{ id: latest.id, version: latest.version, examples: latest.examples, format: latest.format }]
      : [];

  return (
    <div>
      <label htmlFor={`${id}-dataset`}>{label}</label>
      <div className="picker">
        <select
          id={`${id}-dataset`}
          required={required}
          value={datasetId}
          onChange={(e) => {
            const d = datasets.find((x) => x.id === e.target.value);
            setDatasetId(e.target.value);
            onChange(d?.latestVersion?.id ?? '', d?.latestVersion?.format ?? null);
          }}
          data-testid={`${testid}-dataset`}
        >
          <option value="">{emptyLabel}</option>
          {datasets
            .filter((d) => d.latestVersion)
            .map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.versions} version{d.versions === 1 ? '' : 's'})
              </option>
            ))}
        </select>
        <select
          id={`${id}-version`}
          aria-label={`${label}: version`}
          value={value}
          disabled={!datasetId}
          required={required}
          onChange={(e) => onChange(e.target.value, versions.find((v) => v.id === e.target.value)?.format ?? null)}
          data-testid={`${testid}-file`}
        >
          {!datasetId && <option value="">version</option>}
          {versions.map((v) => (
            <option key={v.id} value={v.id}>
              v{v.version}
              {v.id === latest?.id ? ' (latest)' : ''} — {fmtNum(v.examples, 0)} examples
            </option>
          ))}
        </select>
      </div>
      {error && <p className="hint">{error}</p>}
    </div>
  );
}
