import type { Metadata } from 'next';
import { Fleets } from './fleets';

export const metadata: Metadata = { title: 'Fleets · edgetune' };

export default function FleetsPage() {
  return <Fleets />;
}
