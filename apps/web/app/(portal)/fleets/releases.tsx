'use client';
import { useState, type FormEvent } from 'react';
import { trpc } from '@/lib/trpc';
import { useAction } from '@/lib/use-action';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import type { Permission } from '@/lib/me';

type Release = Awaited<ReturnType<typeof trpc.fleets.releases.query>>[number];
type Fleet = Awaited<ReturnType<typeof trpc.fleets.list.query>>[number];

const REFRESH_MS = 10_000;
const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)} %`);
const stateClass: Record<Release['state'], string> = {
  rolling: 'running',
  paused: 'warn',
  halted: 'failed',
  complete: 'succeeded',
  superseded: 'cancelled',
  rolled_back: 'cancelled',
};

/** Devices by profile and installed version, as bars (a fleet's spread of versions at a glance). */
export function VersionsChart({ fleet }: { fleet: Fleet }) {
  const total = fleet.versions.reduce((n, v) => n + v.devices, 0);
  if (!total) return <p className="muted small">No devices enrolled yet.</p>;
  return (
    <div role="img" aria-label="Devices by profile and installed version" data-testid="versions-chart">
      {fleet.versions.map((v) => {
        const label = `${v.profile} · ${v.installedVersion ?? 'none installed'}`;
        return (
          <div key={label} className="small" style={{ display: 'grid', gridTemplateColumns: 'minmax(160px, 40%) 1fr 48px', gap: 8, alignItems: 'center' }} data-testid="versions-chart-row">
            <span title={label} style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
              {label}
            </span>
            <div className="progress" style={{ margin: '4px 0' }}>
              <div style={{ width: `${(v.devices / total) * 100}%` }} />
            </div>
            <span>{v.devices}</span>
          </div>
        );
      })}
    </div>
  );
}

/** Per step: its share, the devices it adds, their reports and the failure rate, the current step marked. */
function StepsCell({ r }: { r: Release }) {
  return (
    <ol className="small" style={{ margin: 0, paddingLeft: 18 }} data-testid="release-steps">
      {r.stats.map((s, i) => (
        <li key={s.percent} style={{ fontWeight: i === r.stepIndex ? 600 : 400 }} data-current={i === r.stepIndex ? 'true' : 'false'}>
          {s.percent} %: {s.devices} devices, {s.reports} reports, failure rate {pct(s.failureRate)}
        </li>
      ))}
    </ol>
  );
}

export function FleetReleases({ fleet, manage }: { fleet: Fleet; manage: Permission }) {
  const releases = usePoll(() => trpc.fleets.releases.query({ fleetId: fleet.id }), REFRESH_MS, [fleet.id]);
  const models = usePoll(() => trpc.models.list.query(), null);
  const [model, setModel] = useState('');
  const [channel, setChannel] = useState('stable');
  const [steps, setSteps] = useState('1, 10, 50, 100');
  const [soak, setSoak] = useState('');
  const action = useAction();
  const { busy, error } = action;

  async function onCreate(e: FormEvent) {
    e.preventDefault();
    const list = steps.split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
    await action.run('create', async () => {
      await trpc.fleets.createRelease.mutate({ fleetId: fleet.id, release: { model, channel, steps: list, soak_minutes: soak ? Number(soak) : null } });
      await releases.reload();
    });
  }

  async function act(r: Release, what: 'advance' | 'pause' | 'resume' | 'rollback') {
    if (what === 'rollback' && !window.confirm(`Roll back release ${r.seq} on “${r.channel}”? Every device of the channel gets the model before it.`)) return;
    await action.run(`${r.id}:${what}`, async () => {
      const input = { fleetId: fleet.id, releaseId: r.id };
      if (what === 'advance') await trpc.fleets.advanceRelease.mutate(input);
      else if (what === 'pause') await trpc.fleets.pauseRelease.mutate(input);
      else if (what === 'resume') await trpc.fleets.resumeRelease.mutate(input);
      else await trpc.fleets.rollbackRelease.mutate(input);
      await releases.reload();
    });
  }

  const open = (r: Release) => r.state === 'rolling' || r.state === 'paused' || r.state === 'halted';
  const button = (r: Release, what: 'advance' | 'pause' | 'resume' | 'rollback', label: string, show: boolean, danger = false) =>
    show && (
      <button
        type="button"
        className={`${danger ? 'danger' : 'secondary'} small`}
        disabled={!manage.allowed || busy !== null}
        title={manage.reason ?? undefined}
        onClick={() => void act(r, what)}
        data-testid={`release-${what}`}
      >
        {busy === `${r.id}:${what}` ? '…' : label}
      </button>
    );

  return (
    <div className="card" data-testid="fleet-releases" data-fleet-id={fleet.id}>
      <h2>Releases of {fleet.name}</h2>
      <VersionsChart fleet={fleet} />
      <form onSubmit={onCreate} aria-label="Release a model" data-testid="release-form" style={{ marginTop: 12 }}>
        <div className="row" style={{ alignItems: 'flex-end' }}>
          <div>
            <label htmlFor={`release-model-${fleet.id}`}>Model</label>
            <select id={`release-model-${fleet.id}`} value={model} onChange={(e) => setModel(e.target.value)} required disabled={!manage.allowed} data-testid="release-model">
              <option value="">Choose a published model…</option>
              {models.data?.versions.map((v) => (
                <option key={v.id} value={v.name}>
                  {v.name} (v{v.version})
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={`release-channel-${fleet.id}`}>Channel</label>
            <input id={`release-channel-${fleet.id}`} type="text" value={channel} onChange={(e) => setChannel(e.target.value)} required maxLength={32} disabled={!manage.allowed} data-testid="release-channel" style={{ width: 120 }} />
          </div>
          <div>
            <label htmlFor={`release-steps-${fleet.id}`}>Steps (%)</label>
            <input id={`release-steps-${fleet.id}`} type="text" value={steps} onChange={(e) => setSteps(e.target.value)} required disabled={!manage.allowed} data-testid="release-steps-input" style={{ width: 140 }} />
          </div>
          <div title="Advance on its own this long after a step starts when its failure rate is at most 10 %; empty: advance by hand">
            <label htmlFor={`release-soak-${fleet.id}`}>Soak (min)</label>
            <input id={`release-soak-${fleet.id}`} type="number" min={1} placeholder="by hand" value={soak} onChange={(e) => setSoak(e.target.value)} disabled={!manage.allowed} data-testid="release-soak" style={{ width: 100 }} />
          </div>
          <button type="submit" disabled={!manage.allowed || busy !== null || !model} title={manage.reason ?? undefined} data-testid="release-create">
            {busy === 'create' ? 'Releasing…' : 'Release'}
          </button>
        </div>
        <p className="hint">Each device gets the variant chosen for its profile. A step whose failure rate passes 10 % halts the rollout.</p>
      </form>
      {(error ?? releases.error) && (
        <div className="alert error" role="alert" data-testid="release-error">
          {error ?? releases.error}
        </div>
      )}
      <div className="table-wrap">
        <table aria-label="Releases" data-testid="releases-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Model</th>
              <th>Channel</th>
              <th>State</th>
              <th>Rollout</th>
              <th>Steps</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {releases.data?.map((r) => (
              <tr key={r.id} data-testid="release-row" data-release-id={r.id} data-state={r.state}>
                <td>{r.seq}</td>
                <td>
                  <code className="small">{r.model}</code>
                  {r.rollbackOf && <div className="muted small">rollback</div>}
                </td>
                <td>{r.channel}</td>
                <td>
                  <span className={`badge ${stateClass[r.state]}`} data-testid="release-state">
                    {r.state.replace('_', ' ')}
                  </span>
                  {r.stateReason && <div className="muted small">{r.stateReason}</div>}
                </td>
                <td style={{ minWidth: 120 }}>
                  <div className="progress" aria-label={`${r.percent} % of the channel`}>
                    <div style={{ width: `${r.percent}%` }} />
                  </div>
                  <span className="small" data-testid="release-percent">{r.percent} %</span>
                </td>
                <td>
                  <StepsCell r={r} />
                </td>
                <td className="small">{fmtDate(r.createdAt)}</td>
                <td>
                  <div className="row" style={{ gap: 6 }}>
                    {button(r, 'advance', 'Advance', r.state === 'rolling' || r.state === 'paused')}
                    {button(r, 'pause', 'Pause', r.state === 'rolling')}
                    {button(r, 'resume', 'Resume', r.state === 'paused' || r.state === 'halted')}
                    {button(r, 'rollback', 'Roll back', open(r) || r.state === 'complete', true)}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {releases.data && releases.data.length === 0 && <div className="empty">Nothing released to this fleet yet.</div>}
      </div>
    </div>
  );
}
