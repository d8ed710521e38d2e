import type { Metadata } from 'next';
import { getSessionUserId } from '@edgetune/auth';
import { VerifyEmail } from './verify-email';

export const metadata: Metadata = { title: 'Verify your e-mail · edgetune' };
export const dynamic = 'force-dynamic';

export default async function VerifyEmailPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const token = (await searchParams).token;
  const signedIn = !!(await getSessionUserId());
  return (
    <div className="auth-wrap">
      <VerifyEmail token={typeof token === 'string' ? token : ''} signedIn={signedIn} />
    </div>
  );
}
