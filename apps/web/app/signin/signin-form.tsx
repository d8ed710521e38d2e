'use client';
import Link from 'next/link';
import { useState, type FormEvent, type ReactNode } from 'react';
import { signIn } from 'next-auth/react';

/** Only same-origin paths are followed after sign-in. */
function safeCallback(): string {
  if (typeof window === 'undefined') return '/jobs';
  const raw = new URLSearchParams(window.location.search).get('callbackUrl');
  if (!raw) return '/jobs';
  try {
    const u = new URL(raw, window.location.origin);
    if (u.origin !== window.location.origin || u.pathname.startsWith('/signin')) return '/jobs';
    return u.pathname + u.search;
  } catch {
    return '/jobs';
  }
}

/**
 * `children`: further ways to sign in (the SSO buttons), shown below the password form.
 * `initialEmail`: prefilled from `?email=` (an invitation link sends the invited address).
 */
export function SignInForm({ children, initialEmail = '' }: { children?: ReactNode; initialEmail?: string } = {}) {
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await signIn('credentials', { email, password, redirect: false });
    if (!res || res.error) {
      setBusy(false);
      // A lockout ("Too many failed sign-in attempts. Try again in 14 minutes.") arrives as the error text.
      setError(res?.error?.startsWith('Too many ') ? res.error : 'Incorrect email or password.');
      return;
    }
    window.location.assign(safeCallback());
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} data-testid="signin-form">
      <h1>
        Sign in to <span style={{ color: 'var(--accent)' }}>edgetune</span>
      </h1>
      <label htmlFor="email">Email</label>
      <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="signin-email" />
      <label htmlFor="password">Password</label>
      <input id="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} data-testid="signin-password" />
      <p className="hint">
        <Link href="/forgot-password" data-testid="signin-forgot">
          Forgot password?
        </Link>
      </p>
      {error && (
        <div className="alert error" data-testid="signin-error">
          {error}
        </div>
      )}
      <button type="submit" disabled={busy} data-testid="signin-submit">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      {children}
      <p className="alt">
        New to edgetune? <Link href="/signup">Create an account</Link>
      </p>
    </form>
  );
}
