'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { roles, type Role } from '@edgetune/auth/permissions';
import { trpc } from '@/lib/trpc';
import { useAction } from '@/lib/use-action';
import { useMe, usePermission } from '@/lib/me';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { DeniedReason } from '@/components/denied-reason';

const roleHelp: Record<Role, string> = {
  owner: 'everything, including deleting the organization',
  admin: 'everything except billing and deleting the organization',
  member: 'upload data, launch jobs, publish models',
  viewer: 'read only',
};

export function Members() {
  const me = useMe();
  const manage = usePermission('manage_members');
  const members = usePoll(() => trpc.members.list.query(), null);
  const invitations = usePoll(() => (manage.allowed ? trpc.invitations.list.query() : Promise.resolve([])), null);
  const action = useAction();
  const invite = useAction();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [invited, setInvited] = useState<string | null>(null);

  /** A row's action; the lists are reloaded whether it worked or not. */
  const run = (key: string, fn: () => Promise<unknown>) =>
    action.run(key, async () => {
      try {
        await fn();
      } finally {
        await Promise.all([members.reload(), invitations.reload()]);
      }
    });

  function onInvite(e: FormEvent) {
    e.preventDefault();
    setInvited(null);
    void invite.run('invite', async () => {
      const inv = await trpc.invitations.create.mutate({ email: email.trim(), role });
      setInvited(inv.email);
      setEmail('');
      await invitations.reload();
    });
  }

  function onLeave() {
    if (!window.confirm(`Leave ${me?.org.name ?? 'this organization'}? You will lose access to everything in it.`)) return;
    void action.run('leave', async () => {
      await trpc.members.leave.mutate();
      window.location.assign('/jobs');
    });
  }

  return (
    <>
      <div className="page-head">
        <h1>Members of {me?.org.name ?? 'this organization'}</h1>
        <Link href="/settings" className="button secondary">
          Organization settings
        </Link>
      </div>

      <div className="card">
        <h2>Invite someone</h2>
        <p className="muted">
          We e-mail them a link that works for 7 days and only for that address. Roles: {roles.map((r) => `${r} — ${roleHelp[r]}`).join('; ')}.
        </p>
        <form className="row" onSubmit={onInvite} data-testid="invite-form">
          <input
            type="email"
            required
            placeholder="colleague@example.com"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            disabled={!manage.allowed}
            data-testid="invite-email-input"
            style={{ maxWidth: 320 }}
          />
          <select value={role} onChange={(e) => setRole(e.target.value as Role)} disabled={!manage.allowed} data-testid="invite-role-select" style={{ maxWidth: 160 }}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit" disabled={!manage.allowed || invite.busy !== null || !email.trim()} title={manage.reason ?? undefined} data-testid="invite-submit">
            {invite.busy ? 'Sending…' : 'Send invitation'}
          </button>
          <DeniedReason permission={manage} testid="invite-reason" />
        </form>
        {invite.error && (
          <div className="alert error" data-testid="invite-create-error">
            {invite.error}
          </div>
        )}
        {invited && (
          <div className="alert ok" data-testid="invite-sent">
            Invitation sent to <strong>{invited}</strong>.
          </div>
        )}
      </div>

      <div className="card">
        <h2>Members</h2>
        {(members.error || action.error) && (
          <div className="alert error" data-testid="members-error">
            {action.error ?? members.error}
          </div>
        )}
        <div className="table-wrap">
          <table data-testid="members-table">
            <thead>
              <tr>
                <th>E-mail</th>
                <th>Name</th>
                <th>Role</th>
                <th>Joined</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data?.map((m) => {
                const self = m.userId === me?.user?.id;
                return (
                  <tr key={m.userId} data-testid="member-row" data-user-id={m.userId} data-email={m.email} data-role={m.role}>
                    <td>
                      {m.email}
                      {self && <span className="muted"> (you)</span>}
                    </td>
                    <td>{m.name ?? '—'}</td>
                    <td>
                      {manage.allowed ? (
                        <select
                          value={m.role}
                          disabled={action.busy !== null}
                          onChange={(e) => void run(m.userId, () => trpc.members.changeRole.mutate({ userId: m.userId, role: e.target.value as Role }))}
                          data-testid="member-role"
                          aria-label={`Role of ${m.email}`}
                          style={{ maxWidth: 140 }}
                        >
                          {roles.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        <span className="badge" data-testid="member-role-text">
                          {m.role}
                        </span>
                      )}
                    </td>
                    <td>{fmtDate(m.joinedAt)}</td>
                    <td>
                      {self ? (
                        <button type="button" className="secondary small" onClick={onLeave} data-testid="member-leave">
                          Leave
                        </button>
                      ) : (
                        manage.allowed && (
                          <button
                            type="button"
                            className="secondary small"
                            disabled={action.busy !== null}
                            onClick={() => {
                              if (window.confirm(`Remove ${m.email} from ${me?.org.name ?? 'this organization'}? Their access ends at once.`)) {
                                void run(m.userId, () => trpc.members.remove.mutate({ userId: m.userId }));
                              }
                            }}
                            data-testid="member-remove"
                          >
                            Remove
                          </button>
                        )
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {members.loading && <div className="empty">Loading…</div>}
        </div>
      </div>

      {manage.allowed && (
        <div className="card">
          <h2>Open invitations</h2>
          {invitations.error && <div className="alert error">{invitations.error}</div>}
          <div className="table-wrap">
            <table data-testid="invitations-table">
              <thead>
                <tr>
                  <th>E-mail</th>
                  <th>Role</th>
                  <th>Sent</th>
                  <th>Expires</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {invitations.data?.map((inv) => (
                  <tr key={inv.id} data-testid="invitation-row" data-invitation-id={inv.id} data-email={inv.email}>
                    <td>{inv.email}</td>
                    <td>{inv.role}</td>
                    <td>{fmtDate(inv.createdAt)}</td>
                    <td>{fmtDate(inv.expiresAt)}</td>
                    <td>
                      <span className={`badge ${inv.status === 'pending' ? 'pending' : 'cancelled'}`}>{inv.status}</span>
                    </td>
                    <td>
                      <button
                        type="button"
                        className="secondary small"
                        disabled={action.busy !== null}
                        onClick={() => void run(inv.id, () => trpc.invitations.revoke.mutate({ id: inv.id }))}
                        data-testid="invitation-revoke"
                      >
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {invitations.data && invitations.data.length === 0 && <div className="empty">No open invitations.</div>}
          </div>
        </div>
      )}
    </>
  );
}
