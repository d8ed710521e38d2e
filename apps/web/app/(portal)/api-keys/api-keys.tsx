'use client';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { apiKeyScopes, type ApiKeyScope } from '@edgetune/auth/permissions';
import { CopyButton } from '@/components/copy-button';
import { DeniedReason } from '@/components/denied-reason';
import { usePermission } from '@/lib/me';

const scopeHelp: Record<ApiKeyScope, string> = {
  read: 'read files, jobs and models',
  download: 'only download published models and their manifests (for devices)',
  train: 'upload files and launch or cancel jobs',
  publish: 'publish models',
  fleet: 'manage fleets',
  admin: 'everything an admin may do',
};

/** The end of the chosen day in UTC: a key that "expires on" a date works through that day. */
function endOfDayUtc(date: string): Date {
  return new Date(`${date}T23:59:59.999Z`);
}

function keyStatus(k: { revokedAt: Date | null; expiresAt: Date | null }): { label: string; cls: string } {
  if (k.revokedAt) return { label: 'revoked', cls: 'failed' };
  if (k.expiresAt && new Date(k.expiresAt).getTime() <= Date.now()) return { label: 'expired', cls: 'cancelled' };
  return { label: 'active', cls: 'ok' };
}

export function ApiKeys() {
  const manage = usePermission('manage_keys');
  const keys = usePoll(() => (manage.allowed ? trpc.apiKeys.list.query({ includeRevoked: true }) : Promise.resolve([])), null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>(['read', 'train', 'publish']);
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);

  async function onCreate(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await trpc.apiKeys.create.mutate({ name: name.trim(), scopes, expiresAt: expires ? endOfDayUtc(expires) : null });
      setCreated({ name: res.name, key: res.key });
      setName('');
      setExpires('');
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
        <form onSubmit={onCreate} data-testid="apikey-form">
          <div className="row">
            <input
              type="text"
              placeholder="Key name, e.g. ci-pipeline"
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
              data-testid="apikey-name"
              disabled={!manage.allowed}
              style={{ maxWidth: 360 }}
            />
          </div>
          <fieldset className="scopes" disabled={!manage.allowed}>
            <legend>Scopes</legend>
            {apiKeyScopes.map((s) => (
              <label key={s} className="inline" title={scopeHelp[s]}>
                <input
                  type="checkbox"
                  checked={scopes.includes(s)}
                  onChange={(e) => setScopes((cur) => (e.target.checked ? [...cur, s] : cur.filter((x) => x !== s)))}
                  data-testid="apikey-scope"
                  data-scope={s}
                />
                <code>{s}</code> <span className="muted small">{scopeHelp[s]}</span>
              </label>
            ))}
          </fieldset>
          <div className="row">
            <label htmlFor="apikey-expires" className="inline">
              Expires on (optional)
            </label>
            <input
              id="apikey-expires"
              type="date"
              min={new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}
              value={expires}
              onChange={(e) => setExpires(e.target.value)}
              disabled={!manage.allowed}
              data-testid="apikey-expires"
            />
            <span className="hint">{expires ? `Stops working after ${expires} 23:59 UTC.` : 'Never expires.'}</span>
          </div>
          <div className="row" style={{ marginTop: 12 }}>
            <button type="submit" disabled={!manage.allowed || busy || !name.trim() || scopes.length === 0} title={manage.reason ?? undefined} data-testid="apikey-create">
              {busy ? 'Creating…' : 'Create key'}
            </button>
            <DeniedReason permission={manage} testid="apikey-create-reason" />
            {manage.allowed && scopes.length === 0 && <span className="hint">Choose at least one scope.</span>}
          </div>
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
      {manage.allowed && (
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
                  <th>Expires</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {keys.data?.map((k) => {
                  const status = keyStatus(k);
                  return (
                    <tr key={k.id} data-testid="apikey-row" data-key-id={k.id} data-status={status.label}>
                      <td>{k.name}</td>
                      <td>
                        <code>{k.redacted}</code>
                      </td>
                      <td>{k.scopes.join(', ')}</td>
                      <td>{fmtDate(k.createdAt)}</td>
                      <td data-testid="apikey-last-used">{k.lastUsedAt ? fmtDate(k.lastUsedAt) : 'never'}</td>
                      <td data-testid="apikey-expires-at">{k.expiresAt ? fmtDate(k.expiresAt) : 'never'}</td>
                      <td>
                        <span className={`badge ${status.cls}`} data-testid="apikey-status" title={k.revokedAt ? `Revoked ${fmtDate(k.revokedAt)}` : undefined}>
                          {status.label}
                        </span>
                      </td>
                      <td>
                        {!k.revokedAt && (
                          <button type="button" className="secondary small" onClick={() => void onRevoke(k.id, k.name)} data-testid="apikey-revoke">
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {keys.data && keys.data.length === 0 && <div className="empty">No API keys yet.</div>}
            {keys.loading && <div className="empty">Loading…</div>}
          </div>
        </div>
      )}
    </>
  );
}
