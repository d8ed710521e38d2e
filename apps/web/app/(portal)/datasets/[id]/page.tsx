import type { Metadata } from 'next';
import { baseModels } from '@edgetune/contracts';
import { DatasetView } from './dataset-view';

export const dynamic = 'force-dynamic';
export const metadata: Metadata = { title: 'Dataset · edgetune' };

export default async function DatasetPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const sp = await searchParams;
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? null;
  // `record` numbers the stored file (what report links carry); `line` is how older links said it.
  const record = Number(one(sp.record) ?? one(sp.line));
  return (
    <DatasetView
      id={decodeURIComponent(id)}
      versionId={one(sp.version)}
      record={Number.isInteger(record) && record > 0 ? record : null}
      models={baseModels.map((m) => ({ id: m.id, name: m.name, contextLength: m.contextLength }))}
    />
  );
}
