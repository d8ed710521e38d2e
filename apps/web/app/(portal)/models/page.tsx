import type { Metadata } from 'next';
import { Models } from './models';

export const metadata: Metadata = { title: 'Models · edgetune' };

export default function ModelsPage() {
  return <Models />;
}
