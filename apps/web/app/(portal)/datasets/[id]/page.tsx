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
  const line = Number(one(sp.line));
  return (
    <DatasetView
      id={decodeURIComponent(id)}
      versionId={one(sp.version)}
      line={Number.isInteger(line) && line > 0 ? line : null}
      models={baseModels.map((m) => ({ id: m.id, name: m.name, contextLength: m.contextLength }))}
    />
  );
}
