'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { errorMessage, trpc } from '@/lib/trpc';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { CopyButton } from '@/components/copy-button';
import { DeniedReason } from '@/components/denied-reason';
import { usePermission } from '@/lib/me';

type Pool = Awaited<ReturnType<typeof trpc.pools.list.query>>[number];

/** A token just issued: shown once, with the command that starts an agent with it. */
interface IssuedToken {
  poolId: string;
  poolName: string;
  action: 'created' | 'rotated';
  token: string;
  /** The portal's origin, the URL the agent talks to. */
  origin: string;
}

/** How often the table refreshes (agents poll every ≤ 25 s; tasks start and finish in between). */
const REFRESH_MS = 5_000;

export function agentCommand(origin: string, token: string): string {
  // The token in the environment rather than in argv, where `ps` would show it.
  return `EDGETUNE_POOL_TOKEN=${token} npm run device-agent -- --url ${origin} --data-dir ~/edgetune-agent`;
}

function fmtSpread(s: Pool['decodeSpread']): string {
  if (!s) return '—';
  return `${s.mean.toFixed(1)} ± ${s.stdev.toFixed(1)} (${s.n})`;
}

function AgentsCell({ pool }: { pool: Pool }) {
  if (pool.owner === 'platform') {
    return (
      <span data-testid="pool-agents" data-count={pool.pollers}>
        {pool.pollers} worker{pool.pollers === 1 ? '' : 's'}
        {pool.fingerprint?.cpuModel && <div className="muted small">{pool.fingerprint.cpuModel}</div>}
      </span>
    );
  }
  return (
    <span data-testid="pool-agents" data-count={pool.agents.length}>
      {pool.agents.length} agent{pool.agents.length === 1 ? '' : 's'}
      {pool.agents.length > 0 && (
        <ul className="small" style={{ margin: '4px 0 0', paddingLeft: 16 }}>
          {pool.agents.map((a) => (
            <li key={a.id} data-testid="pool-agent" data-online={a.online ? 'true' : 'false'} title={`Last seen ${fmtDate(a.lastSeenAt)}`}>
              <strong>{a.name}</strong>
              {a.fingerprint?.cpuModel && <span className="muted"> · {a.fingerprint.cpuModel}</span>}
              {!a.online && <span className="muted"> (offline)</span>}
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

function TasksCell({ pool }: { pool: Pool }) {
  if (!pool.currentTasks.length) return <span className="muted">—</span>;
  return (
    <ul className="small" style={{ margin: 0, paddingLeft: 16 }} data-testid="pool-tasks">
      {pool.currentTasks.map((t) => (
        <li key={t.id}>
          {t.kind} on <code>{t.device}</code> for <Link href={`/jobs/${t.jobId}`}>{t.jobId}</Link>
        </li>
      ))}
    </ul>
  );
}

export function Pools() {
  const manage = usePermission('manage_pools');
  const pools = usePoll(() => trpc.pools.list.query(), REFRESH_MS);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<IssuedToken | null>(null);

  async function onCreate(e: FormEvent) {
    e.preventDefault();
    setBusy('create');
    setError(null);
    try {
      const res = await trpc.pools.create.mutate({ name: name.trim() });
      setIssued({ poolId: res.pool.id, poolName: res.pool.name, action: 'created', token: res.enrollmentToken, origin: window.location.origin });
      setName('');
      await pools.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  async function onRotate(pool: Pool) {
    setBusy(pool.id);
    setError(null);
    try {
      const res = await trpc.pools.rotateToken.mutate({ id: pool.id });
      setIssued({ poolId: res.pool.id, poolName: res.pool.name, action: 'rotated', token: res.enrollmentToken, origin: window.location.origin });
      await pools.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  async function onDelete(pool: Pool) {
    if (!window.confirm(`Delete the pool "${pool.name}"? Its agents stop working at once and tasks it holds fail.`)) return;
    setBusy(pool.id);
    setError(null);
    try {
      await trpc.pools.delete.mutate({ id: pool.id });
      setIssued((cur) => (cur?.poolId === pool.id ? null : cur));
      await pools.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  const command = issued ? agentCommand(issued.origin, issued.token) : '';

  return (
    <>
      <div className="page-head">
        <h1>Pools</h1>
      </div>
      <div className="card">
        <h2>Create a pool</h2>
        <p className="muted">
          A pool is a group of your own machines that quantize and benchmark models for your jobs. Each machine runs the device agent with the
          pool&apos;s enrollment token; it only makes outgoing HTTPS requests to this site.
        </p>
        <form onSubmit={onCreate} aria-label="Create pool" data-testid="pool-form">
          <label htmlFor="pool-name">Pool name</label>
          <div className="row">
            <input
              id="pool-name"
              type="text"
              placeholder="e.g. car-lab"
              required
              maxLength={64}
              value={name}
              onChange={(e) => setName(e.target.value)}
              disabled={!manage.allowed}
              data-testid="pool-name"
              style={{ maxWidth: 360 }}
            />
            <button type="submit" disabled={!manage.allowed || busy !== null || !name.trim()} title={manage.reason ?? undefined} data-testid="pool-create">
              {busy === 'create' ? 'Creating…' : 'Create pool'}
            </button>
            <DeniedReason permission={manage} testid="pool-manage-reason" />
          </div>
          <p className="hint">Letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit; unique in your organization.</p>
        </form>
        {error && (
          <div className="alert error" role="alert" data-testid="pool-error">
            {error}
          </div>
        )}
        {issued && (
          <div className="alert ok" role="status" data-testid="pool-token-issued" data-action={issued.action}>
            <strong>
              {issued.action === 'created' ? `Pool “${issued.poolName}” created.` : `New enrollment token for “${issued.poolName}”.`}
            </strong>{' '}
            Copy the token now: it is shown only once and cannot be recovered.
            {issued.action === 'rotated' && ' The previous token has stopped working; restart the pool’s agents with this one.'}
            <div className="secret">
              <input
                type="text"
                readOnly
                aria-label="Enrollment token"
                value={issued.token}
                onFocus={(e) => e.currentTarget.select()}
                data-testid="pool-token"
                style={{ flex: 1, fontFamily: 'monospace' }}
              />
              <CopyButton text={issued.token} testid="pool-token-copy" label="Copy token" />
            </div>
            <p className="small" style={{ margin: '10px 0 0' }}>
              Start an agent on each machine of the pool (from a checkout of edgetune):
            </p>
            <div className="secret">
              <input
                type="text"
                readOnly
                aria-label="Agent command"
                value={command}
                onFocus={(e) => e.currentTarget.select()}
                data-testid="pool-agent-command"
                style={{ flex: 1, fontFamily: 'monospace' }}
              />
              <CopyButton text={command} testid="pool-command-copy" label="Copy command" />
              <button type="button" className="secondary small" onClick={() => setIssued(null)} data-testid="pool-token-dismiss">
                Done
              </button>
            </div>
          </div>
        )}
      </div>
      <div className="card">
        <h2>Pool status</h2>
        {pools.error && <div className="alert error">{pools.error}</div>}
        <div className="table-wrap">
          <table aria-label="Pools" data-testid="pools-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Owner</th>
                <th>Status</th>
                <th>Profiles</th>
                <th>Agents</th>
                <th>Queued</th>
                <th>Current tasks</th>
                <th title="Decode throughput of the pool's recent benchmarks: mean ± standard deviation (number of runs)">Decode tok/s</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {pools.data?.map((p) => (
                <tr key={p.id} data-testid="pool-row" data-pool-id={p.id} data-owner={p.owner}>
                  <td>
                    <strong data-testid="pool-row-name">{p.name}</strong>
                    {p.name !== p.id && <div className="muted small">{p.id}</div>}
                    {p.tokenPrefix && (
                      <div className="muted small" title="The start of the pool's current enrollment token">
                        token <code>{p.tokenPrefix}…</code>
                      </div>
                    )}
                  </td>
                  <td data-testid="pool-owner">{p.owner === 'platform' ? 'Platform' : 'Your organization'}</td>
                  <td>
                    <span className={`badge ${p.online ? 'online' : 'offline'}`} data-testid="pool-status" title={p.lastPollAt ? `Last poll ${fmtDate(p.lastPollAt)}` : undefined}>
                      {p.online ? 'online' : 'offline'}
                    </span>
                  </td>
                  <td data-testid="pool-profiles">{p.profiles.length ? p.profiles.join(', ') : <span className="muted">—</span>}</td>
                  <td>
                    <AgentsCell pool={p} />
                  </td>
                  <td data-testid="pool-queue">{p.queueDepth}</td>
                  <td>
                    <TasksCell pool={p} />
                  </td>
                  <td data-testid="pool-decode">{fmtSpread(p.decodeSpread)}</td>
                  <td>
                    {p.owner === 'organization' && (
                      <div className="row" style={{ flexWrap: 'nowrap', gap: 6 }}>
                        <button
                          type="button"
                          className="secondary small"
                          aria-label={`Rotate token of ${p.name}`}
                          disabled={!manage.allowed || busy !== null}
                          title={manage.reason ?? 'Issue a new enrollment token; the current one stops working at once.'}
                          onClick={() => void onRotate(p)}
                          data-testid="pool-rotate"
                        >
                          {busy === p.id ? '…' : 'Rotate token'}
                        </button>
                        <button
                          type="button"
                          className="danger small"
                          aria-label={`Delete ${p.name}`}
                          disabled={!manage.allowed || busy !== null}
                          title={manage.reason ?? undefined}
                          onClick={() => void onDelete(p)}
                          data-testid="pool-delete"
                        >
                          Delete
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {pools.data && pools.data.length === 0 && <div className="empty">No pools yet.</div>}
          {pools.loading && <div className="empty">Loading…</div>}
        </div>
      </div>
    </>
  );
}
