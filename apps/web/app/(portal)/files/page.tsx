import type { Metadata } from 'next';
import { Files } from './files';

export const metadata: Metadata = { title: 'Files · edgetune' };

export default function FilesPage() {
  return <Files />;
}
