import { redirect } from 'next/navigation';

/** Files became datasets (named series of versions); old links land on the new page. */
export default function FilesPage() {
  redirect('/datasets');
}
