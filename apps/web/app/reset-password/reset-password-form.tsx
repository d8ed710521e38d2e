'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';

export function ResetPasswordForm({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (password !== confirm) {
      setError('The two passwords do not match.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await trpc.auth.resetPassword.mutate({ token, password });
      setDone(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <div className="card auth-card" data-testid="reset-password">
        <h1>Choose a new password</h1>
        <div className="alert error" data-testid="reset-password-error">
          This link has no reset token. Open the link from the e-mail exactly as it was sent, or <Link href="/forgot-password">ask for a new one</Link>.
        </div>
      </div>
    );
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} data-testid="reset-password-form">
      <h1>Choose a new password</h1>
      {done ? (
        <>
          <div className="alert ok" data-testid="reset-password-done">
            Your password was changed, and every session that was signed in with the old one has been signed out.
          </div>
          <p className="alt">
            <Link href="/signin" data-testid="reset-password-signin">
              Sign in with your new password
            </Link>
          </p>
        </>
      ) : (
        <>
          <label htmlFor="password">New password</label>
          <input
            id="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="reset-password-password"
          />
          <label htmlFor="confirm">Repeat the new password</label>
          <input
            id="confirm"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            data-testid="reset-password-confirm"
          />
          <p className="hint">At least 8 characters, and not a commonly used password.</p>
          {error && (
            <div className="alert error" data-testid="reset-password-error">
              {error} {/expire|used|invalid|unknown/i.test(error) && <Link href="/forgot-password">Ask for a new link.</Link>}
            </div>
          )}
          <button type="submit" disabled={busy} data-testid="reset-password-submit">
            {busy ? 'Saving…' : 'Set new password'}
          </button>
        </>
      )}
    </form>
  );
}
