'use client';
import Link from 'next/link';
import { useState } from 'react';
import { signOut } from 'next-auth/react';
import { errorMessage, trpc } from '@/lib/trpc';
import { fmtDate } from '@/lib/format';
import type { InvitationInfo } from '@/lib/types';

function statusMessage(info: InvitationInfo): string | null {
  switch (info.status) {
    case 'expired':
      return `This invitation expired on ${fmtDate(info.expiresAt)}. Ask an owner or admin of ${info.orgName} to invite you again.`;
    case 'accepted':
      return 'This invitation has already been used. If it was you, sign in and switch to the organization from the menu.';
    case 'revoked':
      return `This invitation was withdrawn. Ask an owner or admin of ${info.orgName} to invite you again.`;
    default:
      return null;
  }
}

export function InviteView({
  token,
  info,
  error,
  signedIn,
  signedInEmail,
}: {
  token: string;
  info: InvitationInfo | null;
  error: string | null;
  signedIn: boolean;
  signedInEmail: string | null;
}) {
  const [busy, setBusy] = useState(false);
  const [acceptError, setAcceptError] = useState<string | null>(null);
  const back = `/invite/${encodeURIComponent(token)}`;

  if (!info) {
    return (
      <div className="card auth-card" data-testid="invite">
        <h1>Invitation</h1>
        <div className="alert error" data-testid="invite-error">
          {error ?? 'This invitation link is not valid.'}
        </div>
        <p className="alt">
          <Link href={signedIn ? '/jobs' : '/signin'}>{signedIn ? 'Go to edgetune' : 'Sign in'}</Link>
        </p>
      </div>
    );
  }

  const inviter = info.inviter;
  const closed = statusMessage(info);
  const sameEmail = !!signedInEmail && signedInEmail.toLowerCase() === info.email.toLowerCase();

  async function accept() {
    setBusy(true);
    setAcceptError(null);
    try {
      await trpc.invitations.accept.mutate({ token });
      // The accepted organization is now the active one; a full load shows it everywhere.
      window.location.assign('/jobs');
    } catch (e) {
      setAcceptError(errorMessage(e));
      setBusy(false);
    }
  }

  return (
    <div className="card auth-card" data-testid="invite" data-status={info.status}>
      <h1>Join {info.orgName}</h1>
      <dl className="kv" data-testid="invite-details">
        <dt>Organization</dt>
        <dd data-testid="invite-org">{info.orgName}</dd>
        <dt>Role</dt>
        <dd data-testid="invite-role">{info.role}</dd>
        {inviter && (
          <>
            <dt>Invited by</dt>
            <dd data-testid="invite-inviter">{inviter}</dd>
          </>
        )}
        <dt>Sent to</dt>
        <dd data-testid="invite-email">{info.email}</dd>
        <dt>Expires</dt>
        <dd>{fmtDate(info.expiresAt)}</dd>
      </dl>
      {closed ? (
        <div className="alert error" data-testid="invite-error">
          {closed}
        </div>
      ) : !signedIn ? (
        <>
          <p className="muted">Sign in or create an account with {info.email} to accept; you will come back here.</p>
          <div className="stack">
            <Link className="button" href={`/signup?email=${encodeURIComponent(info.email)}&callbackUrl=${encodeURIComponent(back)}`} data-testid="invite-signup">
              Create an account
            </Link>
            <Link className="button secondary" href={`/signin?email=${encodeURIComponent(info.email)}&callbackUrl=${encodeURIComponent(back)}`} data-testid="invite-signin">
              I already have an account
            </Link>
          </div>
        </>
      ) : sameEmail ? (
        <>
          {acceptError && (
            <div className="alert error" data-testid="invite-error">
              {acceptError}
            </div>
          )}
          <button type="button" disabled={busy} onClick={() => void accept()} data-testid="invite-accept">
            {busy ? 'Joining…' : `Accept and join ${info.orgName}`}
          </button>
        </>
      ) : (
        <>
          <div className="alert error" data-testid="invite-error">
            This invitation was sent to {info.email}, but you are signed in as {signedInEmail ?? 'another account'}. Sign in as {info.email} to accept it.
          </div>
          <button
            type="button"
            className="secondary"
            onClick={() => void signOut({ callbackUrl: `/signin?callbackUrl=${encodeURIComponent(back)}` })}
            data-testid="invite-switch-account"
          >
            Sign out and use another account
          </button>
        </>
      )}
    </div>
  );
}
