import type { Metadata } from 'next';
import { Jobs } from './jobs';

export const metadata: Metadata = { title: 'Jobs · edgetune' };

export default function JobsPage() {
  return <Jobs />;
}
