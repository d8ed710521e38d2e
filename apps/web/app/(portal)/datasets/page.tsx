import type { Metadata } from 'next';
import { baseModels } from '@edgetune/contracts';
import { Datasets } from './datasets';

export const metadata: Metadata = { title: 'Datasets · edgetune' };

export default function DatasetsPage() {
  // The catalog is static data; the client gets only the names.
  return <Datasets models={baseModels.map((m) => ({ id: m.id, name: m.name }))} />;
}
