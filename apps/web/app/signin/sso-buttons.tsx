'use client';
import { useState } from 'react';
import { signIn } from 'next-auth/react';
import { safeCallbackPath } from '@/lib/callback';

export interface SsoButton {
  id: string;
  name: string;
}

/** One button per SSO provider the operator configured, plus the reason a previous attempt failed. */
export function SsoButtons({ providers, error }: { providers: SsoButton[]; error: string | null }) {
  const [busy, setBusy] = useState<string | null>(null);
  if (providers.length === 0 && !error) return null;
  return (
    <div data-testid="sso">
      {error && (
        <div className="alert error" data-testid="sso-error">
          {error}
        </div>
      )}
      {providers.length > 0 && <p className="alt">or</p>}
      {providers.map((p) => (
        <button
          key={p.id}
          type="button"
          className="secondary"
          style={{ width: '100%', marginTop: 8 }}
          disabled={busy !== null}
          data-testid={`sso-${p.id}`}
          onClick={() => {
            setBusy(p.id);
            void signIn(p.id, { callbackUrl: safeCallbackPath(new URLSearchParams(window.location.search).get('callbackUrl')) });
          }}
        >
          {busy === p.id ? 'Redirecting…' : `Sign in with ${p.name}`}
        </button>
      ))}
    </div>
  );
}
