'use client';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { CopyButton } from '@/components/copy-button';

export function ApiKeys() {
  const keys = usePoll(() => trpc.apiKeys.list.query({ includeRevoked: true }), null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);

  async function onCreate(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await trpc.apiKeys.create.mutate({ name: name.trim() });
      setCreated({ name: res.name, key: res.key });
      setName('');
      await keys.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function onRevoke(id: string, keyName: string) {
    if (!window.confirm(`Revoke the API key "${keyName}"? Programs using it will stop working immediately.`)) return;
    try {
      await trpc.apiKeys.revoke.mutate({ id });
      await keys.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <>
      <div className="page-head">
        <h1>API keys</h1>
      </div>
      <div className="card">
        <h2>Create a key</h2>
        <p className="muted">
          Use a key with the REST API (<code>/api/v1</code>) or any OpenAI client (<code>baseURL: &lt;this site&gt;/v1</code>) as{' '}
          <code>Authorization: Bearer &lt;key&gt;</code>.
        </p>
        <form className="row" onSubmit={onCreate}>
          <input
            type="text"
            placeholder="Key name, e.g. ci-pipeline"
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="apikey-name"
            style={{ maxWidth: 360 }}
          />
          <button type="submit" disabled={busy || !name.trim()} data-testid="apikey-create">
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </form>
        {error && (
          <div className="alert error" data-testid="apikey-error">
            {error}
          </div>
        )}
        {created && (
          <div className="alert ok" data-testid="apikey-created">
            <strong>Key “{created.name}” created.</strong> Copy it now: it is shown only once and cannot be recovered.
            <div className="secret">
              <code data-testid="apikey-secret">{created.key}</code>
              <CopyButton text={created.key} testid="apikey-copy" />
              <button type="button" className="secondary small" onClick={() => setCreated(null)} data-testid="apikey-dismiss">
                Done
              </button>
            </div>
          </div>
        )}
      </div>
      <div className="card">
        <h2>Keys</h2>
        {keys.error && <div className="alert error">{keys.error}</div>}
        <div className="table-wrap">
          <table data-testid="apikeys-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Scopes</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data?.map((k) => (
                <tr key={k.id} data-testid="apikey-row" data-key-id={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.redacted}</code>
                  </td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{fmtDate(k.createdAt)}</td>
                  <td>{k.lastUsedAt ? fmtDate(k.lastUsedAt) : 'never'}</td>
                  <td>{k.revokedAt ? <span className="badge failed">revoked</span> : <span className="badge ok">active</span>}</td>
                  <td>
                    {!k.revokedAt && (
                      <button type="button" className="secondary small" onClick={() => void onRevoke(k.id, k.name)} data-testid="apikey-revoke">
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {keys.data && keys.data.length === 0 && <div className="empty">No API keys yet.</div>}
          {keys.loading && <div className="empty">Loading…</div>}
        </div>
      </div>
    </>
  );
}
