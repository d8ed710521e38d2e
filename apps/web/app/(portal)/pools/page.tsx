import type { Metadata } from 'next';
import { Pools } from './pools';

export const metadata: Metadata = { title: 'Pools · edgetune' };

export default function PoolsPage() {
  return <Pools />;
}
