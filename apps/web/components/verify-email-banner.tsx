'use client';
import { useState } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';

/** Shown on every portal page until the user follows the link in their verification e-mail. */
export function VerifyEmailBanner({ email }: { email: string }) {
  const [state, setState] = useState<{ kind: 'idle' | 'busy' | 'sent' } | { kind: 'error'; message: string }>({ kind: 'idle' });

  async function resend() {
    setState({ kind: 'busy' });
    try {
      await trpc.auth.resendVerification.mutate();
      setState({ kind: 'sent' });
    } catch (e) {
      setState({ kind: 'error', message: errorMessage(e) });
    }
  }

  return (
    <div className="banner" data-testid="verify-email-banner">
      <span>
        Please verify your e-mail address: we sent a link to <strong>{email}</strong>.
      </span>
      {state.kind === 'sent' ? (
        <span data-testid="verify-email-resent">A new link is on its way.</span>
      ) : (
        <button type="button" className="secondary small" disabled={state.kind === 'busy'} onClick={() => void resend()} data-testid="verify-email-resend">
          {state.kind === 'busy' ? 'Sending…' : 'Resend'}
        </button>
      )}
      {state.kind === 'error' && (
        <span className="banner-error" data-testid="verify-email-resend-error">
          {state.message}
        </span>
      )}
    </div>
  );
}
