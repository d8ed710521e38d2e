'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { trpc } from '@/lib/trpc';
import { useAction } from '@/lib/use-action';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { IssuedTokenBox } from '@/components/issued-token';
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
  const action = useAction();
  const { busy, error } = action;
  const [issued, setIssued] = useState<IssuedToken | null>(null);

  async function onCreate(e: FormEvent) {
    e.preventDefault();
    await action.run('create', async () => {
      const res = await trpc.pools.create.mutate({ name: name.trim() });
      setIssued({ poolId: res.pool.id, poolName: res.pool.name, action: 'created', token: res.enrollmentToken, origin: window.location.origin });
      setName('');
      await pools.reload();
    });
  }

  async function onRotate(pool: Pool) {
    await action.run(pool.id, async () => {
      const res = await trpc.pools.rotateToken.mutate({ id: pool.id });
      setIssued({ poolId: res.pool.id, poolName: res.pool.name, action: 'rotated', token: res.enrollmentToken, origin: window.location.origin });
      await pools.reload();
    });
  }

  async function onDelete(pool: Pool) {
    if (!window.confirm(`Delete the pool "${pool.name}"? Its agents stop working at once and tasks it holds fail.`)) return;
    await action.run(pool.id, async () => {
      await trpc.pools.delete.mutate({ id: pool.id });
      setIssued((cur) => (cur?.poolId === pool.id ? null : cur));
      await pools.reload();
    });
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
          <IssuedTokenBox
            testid="pool"
            action={issued.action}
            title={issued.action === 'created' ? `Pool “${issued.poolName}” created.` : `New enrollment token for “${issued.poolName}”.`}
            rotatedNote="The previous token has stopped working; restart the pool’s agents with this one."
            token={issued.token}
            commandIntro="Start an agent on each machine of the pool (from a checkout of edgetune):"
            commandLabel="Agent command"
            command={command}
            commandTestid="pool-agent-command"
            onDone={() => setIssued(null)}
          />
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
