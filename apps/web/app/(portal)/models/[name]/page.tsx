import type { Metadata } from 'next';
import { ModelVersionView } from './model-version';

export const dynamic = 'force-dynamic';

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  const { name } = await params;
  return { title: `${decodeURIComponent(name)} · edgetune` };
}

export default async function ModelVersionPage({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  return <ModelVersionView name={decodeURIComponent(name)} />;
}
