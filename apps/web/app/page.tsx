import { redirect } from 'next/navigation';
import { getSessionUserId } from '@edgetune/auth';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const uid = await getSessionUserId();
  redirect(uid ? '/jobs' : '/signin');
}
