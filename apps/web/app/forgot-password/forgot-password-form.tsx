'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';

export function ForgotPasswordForm() {
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await trpc.auth.requestPasswordReset.mutate({ email });
      setSent(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card auth-card" onSubmit={onSubmit} data-testid="forgot-password-form">
      <h1>Reset your password</h1>
      {sent ? (
        // The same words whether or not an account exists: the page must not reveal who has one.
        <div className="alert ok" data-testid="forgot-password-sent">
          If an account exists for <strong>{email}</strong>, we sent it a link to choose a new password. The link works once and expires in an hour.
        </div>
      ) : (
        <>
          <p className="muted">Enter the e-mail address of your account and we will send you a link to choose a new password.</p>
          <label htmlFor="email">Email</label>
          <input id="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="forgot-password-email" />
          {error && (
            <div className="alert error" data-testid="forgot-password-error">
              {error}
            </div>
          )}
          <button type="submit" disabled={busy} data-testid="forgot-password-submit">
            {busy ? 'Sending…' : 'Send reset link'}
          </button>
        </>
      )}
      <p className="alt">
        <Link href="/signin">Back to sign in</Link>
      </p>
    </form>
  );
}
