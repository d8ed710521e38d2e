import type { Metadata } from 'next';
import { ssoProviderInfo } from '@edgetune/auth';
import { SignInForm } from './signin-form';
import { SsoButtons } from './sso-buttons';
import { ssoErrorText } from './sso-errors';

export const metadata: Metadata = { title: 'Sign in · edgetune' };
// The SSO buttons follow the server's configuration at run time, not at build time.
export const dynamic = 'force-dynamic';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ error?: string | string[]; email?: string | string[] }> }) {
  const { error, email } = await searchParams;
  const providers = ssoProviderInfo().map((p) => ({ id: p.id, name: p.name }));
  return (
    <div className="auth-wrap">
      <SignInForm initialEmail={typeof email === 'string' ? email : ''}>
        <SsoButtons providers={providers} error={ssoErrorText(typeof error === 'string' ? error : undefined)} />
      </SignInForm>
    </div>
  );
}
