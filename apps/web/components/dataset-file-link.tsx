'use client';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { trpc } from '@/lib/trpc';

/** A job's data file as the dataset version it is (lineage), linking to that version; the bare id until known. */
export function DatasetFileLink({ fileId, testid }: { fileId: string; testid?: string }) {
  const [ref, setRef] = useState<{ datasetId: string; name: string; version: number | null } | null>(null);

  useEffect(() => {
    let alive = true;
    (async () => {
      const f = await trpc.files.get.query({ id: fileId });
      if (!f.datasetId) return;
      const d = await trpc.datasets.get.query({ id: f.datasetId });
      if (alive) setRef({ datasetId: d.id, name: d.name, version: f.version });
    })().catch(() => undefined); // a deleted version or dataset: the id alone still says what was used
    return () => {
      alive = false;
    };
  }, [fileId]);

  return (
    <span data-testid={testid}>
      {ref && (
        <>
          <Link href={`/datasets/${encodeURIComponent(ref.datasetId)}?version=${encodeURIComponent(fileId)}`}>
            {ref.name} v{ref.version}
          </Link>{' '}
        </>
      )}
      <code className={ref ? 'muted small' : undefined}>{fileId}</code>
    </span>
  );
}
