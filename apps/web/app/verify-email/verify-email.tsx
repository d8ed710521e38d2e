'use client';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';

type State = { kind: 'verifying' } | { kind: 'verified'; email: string } | { kind: 'error'; message: string };

export function VerifyEmail({ token, signedIn }: { token: string; signedIn: boolean }) {
  const [state, setState] = useState<State>(token ? { kind: 'verifying' } : { kind: 'error', message: 'This link has no verification token. Open the link from the e-mail exactly as it was sent.' });
  const [resend, setResend] = useState<{ kind: 'idle' | 'busy' | 'sent' } | { kind: 'error'; message: string }>({ kind: 'idle' });
  // The token is single use: strict mode's second effect run must not spend it twice.
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    trpc.auth.verifyEmail
      .mutate({ token })
      .then((r) => setState({ kind: 'verified', email: r.email }))
      .catch((e) => setState({ kind: 'error', message: errorMessage(e) }));
  }, [token]);

  async function onResend() {
    setResend({ kind: 'busy' });
    try {
      await trpc.auth.resendVerification.mutate();
      setResend({ kind: 'sent' });
    } catch (e) {
      setResend({ kind: 'error', message: errorMessage(e) });
    }
  }

  return (
    <div className="card auth-card" data-testid="verify-email">
      <h1>Verify your e-mail</h1>
      {state.kind === 'verifying' && <p className="muted">Checking your link…</p>}
      {state.kind === 'verified' && (
        <>
          <div className="alert ok" data-testid="verify-email-success">
            <strong>{state.email}</strong> is verified. Thank you!
          </div>
          <p className="alt">
            <Link href={signedIn ? '/jobs' : '/signin'} data-testid="verify-email-continue">
              {signedIn ? 'Continue to edgetune' : 'Sign in'}
            </Link>
          </p>
        </>
      )}
      {state.kind === 'error' && (
        <>
          <div className="alert error" data-testid="verify-email-error">
            {state.message}
          </div>
          {signedIn ? (
            <>
              {resend.kind === 'sent' ? (
                <div className="alert ok" data-testid="verify-email-resent">
                  We sent you a new verification link.
                </div>
              ) : (
                <button type="button" disabled={resend.kind === 'busy'} onClick={() => void onResend()} data-testid="verify-email-resend">
                  {resend.kind === 'busy' ? 'Sending…' : 'Send a new link'}
                </button>
              )}
              {resend.kind === 'error' && (
                <div className="alert error" data-testid="verify-email-resend-error">
                  {resend.message}
                </div>
              )}
            </>
          ) : (
            <p className="alt">
              <Link href="/signin?callbackUrl=%2Fjobs">Sign in</Link> to get a new verification link.
            </p>
          )}
        </>
      )}
    </div>
  );
}
