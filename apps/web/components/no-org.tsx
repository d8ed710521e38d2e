'use client';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';

/** A signed-in user who belongs to no organization (left or removed from all): start one. */
export function NoOrg() {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await trpc.orgs.create.mutate({ name: name.trim() });
      window.location.assign('/jobs');
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <div className="card" data-testid="no-org">
      <h1>You are not a member of any organization</h1>
      <p className="muted">Ask an owner or admin to invite you again, or create an organization of your own.</p>
      <form className="row" onSubmit={onSubmit}>
        <input
          type="text"
          required
          maxLength={100}
          placeholder="Organization name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          data-testid="no-org-name"
          style={{ maxWidth: 360 }}
        />
        <button type="submit" disabled={busy || !name.trim()} data-testid="no-org-create">
          {busy ? 'Creating…' : 'Create organization'}
        </button>
      </form>
      {error && (
        <div className="alert error" data-testid="no-org-error">
          {error}
        </div>
      )}
    </div>
  );
}
