'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { signIn } from 'next-auth/react';
import { errorMessage, trpc } from '@/lib/trpc';

export function SignUpForm({ initialEmail = '', callbackUrl = '/jobs' }: { initialEmail?: string; callbackUrl?: string }) {
  // Someone coming from an invitation joins that organization; their own one is optional.
  const invited = callbackUrl.startsWith('/invite/');
  const [name, setName] = useState('');
  const [orgName, setOrgName] = useState('');
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await trpc.auth.signUp.mutate({ email, password, name: name || undefined, orgName: orgName || undefined });
    } catch (err) {
      setBusy(false);
      setError(errorMessage(err));
      return;
    }
    const res = await signIn('credentials', { email, password, redirect: false });
    if (!res || res.error) {
      setBusy(false);
      setError('Your account was created, but signing in failed. Try signing in.');
      return;
    }
    window.location.assign(callbackUrl);
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} data-testid="signup-form">
      <h1>
        Create your <span style={{ color: 'var(--accent)' }}>edgetune</span> account
      </h1>
      <label htmlFor="orgName">{invited ? 'Your own organization (optional)' : 'Organization name'}</label>
      <input id="orgName" type="text" required={!invited} value={orgName} onChange={(e) => setOrgName(e.target.value)} data-testid="signup-org" placeholder="Acme Robotics" />
      <label htmlFor="name">Your name</label>
      <input id="name" type="text" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} data-testid="signup-name" />
      <label htmlFor="email">Work email</label>
      <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="signup-email" />
      <label htmlFor="password">Password</label>
      <input
        id="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        data-testid="signup-password"
      />
      <p className="hint">At least 8 characters.</p>
      {error && (
        <div className="alert error" data-testid="signup-error">
          {error}
        </div>
      )}
      <button type="submit" disabled={busy} data-testid="signup-submit">
        {busy ? 'Creating account…' : 'Create account'}
      </button>
      <p className="alt">
        Already have an account? <Link href={callbackUrl === '/jobs' ? '/signin' : `/signin?callbackUrl=${encodeURIComponent(callbackUrl)}`}>Sign in</Link>
      </p>
    </form>
  );
}
