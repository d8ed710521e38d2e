import type { Metadata } from 'next';
import { safeCallbackPath } from '@/lib/callback';
import { SignUpForm } from './signup-form';

export const metadata: Metadata = { title: 'Sign up · edgetune' };
export const dynamic = 'force-dynamic';

/** `?email=` prefills the address and `?callbackUrl=` is where to go after (an invitation link does both). */
export default async function SignUpPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const q = await searchParams;
  return (
    <div className="auth-wrap">
      <SignUpForm initialEmail={typeof q.email === 'string' ? q.email : ''} callbackUrl={safeCallbackPath(q.callbackUrl)} />
    </div>
  );
}
