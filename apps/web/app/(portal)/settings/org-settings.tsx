'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { useMe, usePermission, type Permission } from '@/lib/me';
import { usePoll } from '@/lib/use-poll';
import { DeniedReason } from '@/components/denied-reason';

const ownerOnly = (what: string, role: string | undefined): Permission =>
  role === 'owner' ? { allowed: true, reason: null } : { allowed: false, reason: `Only the owner can ${what}; your role is '${role ?? 'unknown'}'.` };

export function OrgSettings() {
  const me = useMe();
  const manageOrg = usePermission('manage_org');
  const transferPerm = ownerOnly('transfer ownership', me?.role);
  const deletePerm = ownerOnly('delete the organization', me?.role);
  const orgName = me?.org.name ?? '';

  const [name, setName] = useState(orgName);
  const [renameState, setRenameState] = useState<{ busy: boolean; error: string | null; done: boolean }>({ busy: false, error: null, done: false });

  const members = usePoll(() => (transferPerm.allowed ? trpc.members.list.query() : Promise.resolve([])), null);
  const [newOwner, setNewOwner] = useState('');
  const [transfer, setTransfer] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });

  const [confirmName, setConfirmName] = useState('');
  const [del, setDel] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });

  async function onRename(e: FormEvent) {
    e.preventDefault();
    setRenameState({ busy: true, error: null, done: false });
    try {
      await trpc.orgs.rename.mutate({ name: name.trim() });
      // The nav and every page show the name: reload them all.
      window.location.reload();
    } catch (err) {
      setRenameState({ busy: false, error: errorMessage(err), done: false });
    }
  }

  async function onTransfer(e: FormEvent) {
    e.preventDefault();
    const target = members.data?.find((m) => m.userId === newOwner);
    if (!target) return;
    if (!window.confirm(`Make ${target.email} the owner of ${orgName}? You will become an admin.`)) return;
    setTransfer({ busy: true, error: null });
    try {
      await trpc.orgs.transferOwnership.mutate({ userId: newOwner });
      window.location.reload();
    } catch (err) {
      setTransfer({ busy: false, error: errorMessage(err) });
    }
  }

  async function onDelete(e: FormEvent) {
    e.preventDefault();
    setDel({ busy: true, error: null });
    try {
      await trpc.orgs.delete.mutate({ confirmName });
      // The session falls back to another organization of the user's, if any.
      window.location.assign('/jobs');
    } catch (err) {
      setDel({ busy: false, error: errorMessage(err) });
    }
  }

  const candidates = (members.data ?? []).filter((m) => m.userId !== me?.user?.id);

  return (
    <>
      <div className="page-head">
        <h1>Organization settings</h1>
        <Link href="/settings/members" className="button secondary" data-testid="settings-members-link">
          Members
        </Link>
      </div>

      <div className="card">
        <h2>Name</h2>
        <form className="row" onSubmit={onRename} data-testid="org-rename-form">
          <input
            type="text"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            disabled={!manageOrg.allowed}
            data-testid="org-rename-name"
            style={{ maxWidth: 360 }}
          />
          <button type="submit" disabled={!manageOrg.allowed || renameState.busy || !name.trim() || name.trim() === orgName} title={manageOrg.reason ?? undefined} data-testid="org-rename-submit">
            {renameState.busy ? 'Saving…' : 'Rename'}
          </button>
          <DeniedReason permission={manageOrg} testid="org-rename-reason" />
        </form>
        {me && (
          <p className="hint">
            Slug <code>{me.org.slug}</code> and id <code>{me.org.id}</code> stay the same when you rename.
          </p>
        )}
        {renameState.error && (
          <div className="alert error" data-testid="org-rename-error">
            {renameState.error}
          </div>
        )}
      </div>

      <div className="card">
        <h2>Transfer ownership</h2>
        <p className="muted">The new owner gets full control, including deleting the organization; you become an admin.</p>
        <form className="row" onSubmit={onTransfer} data-testid="org-transfer-form">
          <select value={newOwner} onChange={(e) => setNewOwner(e.target.value)} disabled={!transferPerm.allowed} data-testid="org-transfer-member" style={{ maxWidth: 360 }}>
            <option value="">Choose a member…</option>
            {candidates.map((m) => (
              <option key={m.userId} value={m.userId}>
                {m.email}
                {m.name ? ` (${m.name})` : ''} — {m.role}
              </option>
            ))}
          </select>
          <button type="submit" disabled={!transferPerm.allowed || transfer.busy || !newOwner} title={transferPerm.reason ?? undefined} data-testid="org-transfer-submit">
            {transfer.busy ? 'Transferring…' : 'Transfer ownership'}
          </button>
          <DeniedReason permission={transferPerm} testid="org-transfer-reason" />
        </form>
        {transferPerm.allowed && members.data && candidates.length === 0 && <p className="hint">Invite someone first: you are the only member.</p>}
        {(transfer.error || members.error) && (
          <div className="alert error" data-testid="org-transfer-error">
            {transfer.error ?? members.error}
          </div>
        )}
      </div>

      <div className="card danger-zone">
        <h2>Delete organization</h2>
        <p>
          Deleting <strong>{orgName}</strong> permanently deletes everything it owns: files and datasets, fine-tuning jobs and their checkpoints, published models and
          their downloads, API keys, invitations, memberships and the audit log. Devices that download its models will stop getting updates. Jobs still running must be cancelled first. This cannot be undone.
        </p>
        <form onSubmit={onDelete} data-testid="org-delete-form">
          <label htmlFor="confirm-name">
            Type <code>{orgName}</code> to confirm
          </label>
          <div className="row">
            <input
              id="confirm-name"
              type="text"
              autoComplete="off"
              value={confirmName}
              onChange={(e) => setConfirmName(e.target.value)}
              disabled={!deletePerm.allowed}
              data-testid="org-delete-confirm"
              style={{ maxWidth: 360 }}
            />
            <button
              type="submit"
              className="danger"
              disabled={!deletePerm.allowed || del.busy || confirmName !== orgName}
              title={deletePerm.reason ?? undefined}
              data-testid="org-delete-submit"
            >
              {del.busy ? 'Deleting…' : 'Delete this organization'}
            </button>
            <DeniedReason permission={deletePerm} testid="org-delete-reason" />
          </div>
        </form>
        {del.error && (
          <div className="alert error" data-testid="org-delete-error">
            {del.error}
          </div>
        )}
      </div>
    </>
  );
}
