'use client';
import { useState, type FormEvent } from 'react';
import { trpc } from '@/lib/trpc';
import { useAction } from '@/lib/use-action';
import { usePoll } from '@/lib/use-poll';
import { fmtDate } from '@/lib/format';
import { IssuedTokenBox } from '@/components/issued-token';
import { DeniedReason } from '@/components/denied-reason';
import { usePermission, type Permission } from '@/lib/me';
import { FleetReleases } from './releases';

type Fleet = Awaited<ReturnType<typeof trpc.fleets.list.query>>[number];
type Device = Awaited<ReturnType<typeof trpc.fleets.devices.query>>['data'][number];

/** A token just issued: shown once, with the request that enrolls a device with it. */
interface IssuedToken {
  fleetId: string;
  fleetName: string;
  action: 'created' | 'rotated';
  token: string;
  /** The portal's origin, the URL devices enroll at. */
  origin: string;
}

/** How often the tables refresh (devices check in every minute or so). */
const REFRESH_MS = 10_000;
/** Devices shown per step of "Show more devices". */
const DEVICE_PAGE = 100;
const MAX_DEVICES = 1000;

export function enrollCommand(origin: string, fleetId: string, token: string): string {
  return (
    `curl -X POST ${origin}/api/v1/fleets/${fleetId}/devices -H "Authorization: Bearer ${token}" ` +
    `-H 'content-type: application/json' -d '{"name":"<serial>","profile":"arm64-phone","fingerprint":{}}'`
  );
}

function VersionsCell({ fleet }: { fleet: Fleet }) {
  if (!fleet.versions.length) return <span className="muted">—</span>;
  return (
    <ul className="small" style={{ margin: 0, paddingLeft: 16 }} data-testid="fleet-versions">
      {fleet.versions.map((v) => (
        <li key={`${v.profile}\u0000${v.installedVersion ?? ''}`} data-profile={v.profile}>
          <code>{v.profile}</code>: {v.installedVersion ?? <span className="muted">none installed</span>} ({v.devices})
        </li>
      ))}
    </ul>
  );
}

function HealthBadge({ device }: { device: Device }) {
  if (!device.health) return <span className="muted">—</span>;
  const cls = device.health === 'ok' ? 'ok' : device.health === 'failed' ? 'failed' : 'warn';
  return (
    <span className={`badge ${cls}`} data-testid="device-health">
      {device.health}
    </span>
  );
}

/** The devices of one fleet, refreshed while shown. */
function FleetDevices({ fleet, manage, onChanged }: { fleet: Fleet; manage: Permission; onChanged: () => Promise<void> }) {
  const [limit, setLimit] = useState(DEVICE_PAGE);
  const devices = usePoll(() => trpc.fleets.devices.query({ fleetId: fleet.id, limit }), REFRESH_MS, [fleet.id, limit]);
  const action = useAction();
  const { busy, error } = action;

  async function onRevoke(d: Device) {
    if (!window.confirm(`Revoke the device "${d.name}"? Its token is refused from its next request on.`)) return;
    await action.run(d.id, async () => {
      await trpc.fleets.revokeDevice.mutate({ fleetId: fleet.id, deviceId: d.id });
      await Promise.all([devices.reload(), onChanged()]);
    });
  }

  return (
    <div className="card" data-testid="fleet-devices" data-fleet-id={fleet.id}>
      <h2>Devices of {fleet.name}</h2>
      {(error ?? devices.error) && (
        <div className="alert error" role="alert" data-testid="device-error">
          {error ?? devices.error}
        </div>
      )}
      <div className="table-wrap">
        <table aria-label="Devices" data-testid="devices-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Profile</th>
              <th>Online</th>
              <th>Health</th>
              <th>Installed version</th>
              <th>Last check-in</th>
              <th>Last error</th>
              <th>Revoked</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {devices.data?.data.map((d) => (
              <tr key={d.id} data-testid="device-row" data-device-id={d.id} data-revoked={d.revokedAt ? 'true' : 'false'}>
                <td>
                  <strong data-testid="device-name">{d.name}</strong>
                  <div className="muted small">{d.id}</div>
                </td>
                <td>
                  <code>{d.profile}</code>
                </td>
                <td>
                  <span className={`badge ${d.online ? 'online' : 'offline'}`} data-testid="device-online">
                    {d.online ? 'online' : 'offline'}
                  </span>
                </td>
                <td>
                  <HealthBadge device={d} />
                </td>
                <td data-testid="device-version">{d.installedVersion ?? <span className="muted">—</span>}</td>
                <td className="small">{fmtDate(d.lastCheckInAt)}</td>
                <td className="small" data-testid="device-last-error">
                  {d.lastError ?? <span className="muted">—</span>}
                </td>
                <td className="small" data-testid="device-revoked">
                  {d.revokedAt ? fmtDate(d.revokedAt) : <span className="muted">—</span>}
                </td>
                <td>
                  {!d.revokedAt && (
                    <button
                      type="button"
                      className="danger small"
                      aria-label={`Revoke ${d.name}`}
                      disabled={!manage.allowed || busy !== null}
                      title={manage.reason ?? 'Refuse this device’s token from its next request on.'}
                      onClick={() => void onRevoke(d)}
                      data-testid="device-revoke"
                    >
                      {busy === d.id ? '…' : 'Revoke'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {devices.data && devices.data.data.length === 0 && <div className="empty">No devices enrolled yet.</div>}
        {devices.loading && <div className="empty">Loading…</div>}
      </div>
      {devices.data?.hasMore && (
        <div className="row" style={{ marginTop: 10 }}>
          {limit < MAX_DEVICES ? (
            <button type="button" className="secondary small" onClick={() => setLimit((l) => Math.min(l + DEVICE_PAGE, MAX_DEVICES))} data-testid="devices-more">
              Show more devices
            </button>
          ) : (
            <span className="muted small">Showing the first {MAX_DEVICES} devices.</span>
          )}
        </div>
      )}
    </div>
  );
}

export function Fleets() {
  const manage = usePermission('manage_fleets');
  const fleets = usePoll(() => trpc.fleets.list.query(), REFRESH_MS);
  const [name, setName] = useState('');
  const action = useAction();
  const { busy, error } = action;
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);

  async function onCreate(e: FormEvent) {
    e.preventDefault();
    await action.run('create', async () => {
      const res = await trpc.fleets.create.mutate({ name: name.trim() });
      setIssued({ fleetId: res.fleet.id, fleetName: res.fleet.name, action: 'created', token: res.enrollmentToken, origin: window.location.origin });
      setName('');
      await fleets.reload();
    });
  }

  async function onRotate(fleet: Fleet) {
    await action.run(fleet.id, async () => {
      const res = await trpc.fleets.rotateToken.mutate({ id: fleet.id });
      setIssued({ fleetId: res.fleet.id, fleetName: res.fleet.name, action: 'rotated', token: res.enrollmentToken, origin: window.location.origin });
      await fleets.reload();
    });
  }

  async function onDelete(fleet: Fleet) {
    if (!window.confirm(`Delete the fleet "${fleet.name}"? Its devices are removed and their tokens stop working at once.`)) return;
    await action.run(fleet.id, async () => {
      await trpc.fleets.delete.mutate({ id: fleet.id });
      setIssued((cur) => (cur?.fleetId === fleet.id ? null : cur));
      setOpenId((cur) => (cur === fleet.id ? null : cur));
      await fleets.reload();
    });
  }

  const command = issued ? enrollCommand(issued.origin, issued.fleetId, issued.token) : '';
  const open = fleets.data?.find((f) => f.id === openId) ?? null;

  return (
    <>
      <div className="page-head">
        <h1>Fleets</h1>
      </div>
      <div className="card">
        <h2>Create a fleet</h2>
        <p className="muted">
          A fleet is a group of your edge devices. A device enrolls once with the fleet&apos;s enrollment token and from then on uses its own
          token to check in and report the model version it runs.
        </p>
        <form onSubmit={onCreate} aria-label="Create fleet" data-testid="fleet-form">
          <label htmlFor="fleet-name">Fleet name</label>
          <div className="row">
            <input
              id="fleet-name"
              type="text"
              placeholder="e.g. cars-eu"
              required
              maxLength={64}
              value={name}
              onChange={(e) => setName(e.target.value)}
              disabled={!manage.allowed}
              data-testid="fleet-name"
              style={{ maxWidth: 360 }}
            />
            <button type="submit" disabled={!manage.allowed || busy !== null || !name.trim()} title={manage.reason ?? undefined} data-testid="fleet-create">
              {busy === 'create' ? 'Creating…' : 'Create fleet'}
            </button>
            <DeniedReason permission={manage} testid="fleet-manage-reason" />
          </div>
          <p className="hint">Letters, digits, spaces, dots, dashes and underscores, starting with a letter or digit; unique in your organization.</p>
        </form>
        {error && (
          <div className="alert error" role="alert" data-testid="fleet-error">
            {error}
          </div>
        )}
        {issued && (
          <IssuedTokenBox
            testid="fleet"
            action={issued.action}
            title={issued.action === 'created' ? `Fleet “${issued.fleetName}” created.` : `New enrollment token for “${issued.fleetName}”.`}
            rotatedNote="The previous token no longer enrolls devices; devices already enrolled keep working."
            token={issued.token}
            commandIntro={<>Enroll a device (replace <code>&lt;serial&gt;</code> with its name and set its profile):</>}
            commandLabel="Enroll command"
            command={command}
            commandTestid="fleet-enroll-command"
            onDone={() => setIssued(null)}
          />
        )}
      </div>
      <div className="card">
        <h2>Your fleets</h2>
        {fleets.error && <div className="alert error">{fleets.error}</div>}
        <div className="table-wrap">
          <table aria-label="Fleets" data-testid="fleets-table">
            <thead>
              <tr>
                <th>Name</th>
                <th title="The start of the fleet's current enrollment token">Token</th>
                <th>Devices</th>
                <th>Online</th>
                <th>Failing</th>
                <th>Revoked</th>
                <th title="Enrolled devices that are not revoked, by profile and installed version">Installed versions</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {fleets.data?.map((f) => (
                <tr key={f.id} data-testid="fleet-row" data-fleet-id={f.id}>
                  <td>
                    <strong data-testid="fleet-row-name">{f.name}</strong>
                    <div className="muted small">{f.id}</div>
                  </td>
                  <td data-testid="fleet-token-prefix">
                    <code>{f.tokenPrefix}…</code>
                  </td>
                  <td data-testid="fleet-devices-total">{f.devices.total}</td>
                  <td data-testid="fleet-devices-online">{f.devices.online}</td>
                  <td data-testid="fleet-devices-failing">{f.devices.failing}</td>
                  <td data-testid="fleet-devices-revoked">{f.devices.revoked}</td>
                  <td>
                    <VersionsCell fleet={f} />
                  </td>
                  <td>
                    <div className="row" style={{ flexWrap: 'nowrap', gap: 6 }}>
                      <button
                        type="button"
                        className="secondary small"
                        aria-label={`Devices of ${f.name}`}
                        aria-expanded={openId === f.id}
                        onClick={() => setOpenId((cur) => (cur === f.id ? null : f.id))}
                        data-testid="fleet-devices-toggle"
                      >
                        {openId === f.id ? 'Hide' : 'Releases & devices'}
                      </button>
                      <button
                        type="button"
                        className="secondary small"
                        aria-label={`Rotate token of ${f.name}`}
                        disabled={!manage.allowed || busy !== null}
                        title={manage.reason ?? 'Issue a new enrollment token; the current one stops enrolling at once.'}
                        onClick={() => void onRotate(f)}
                        data-testid="fleet-rotate"
                      >
                        {busy === f.id ? '…' : 'Rotate token'}
                      </button>
                      <button
                        type="button"
                        className="danger small"
                        aria-label={`Delete ${f.name}`}
                        disabled={!manage.allowed || busy !== null}
                        title={manage.reason ?? undefined}
                        onClick={() => void onDelete(f)}
                        data-testid="fleet-delete"
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {fleets.data && fleets.data.length === 0 && <div className="empty">No fleets yet.</div>}
          {fleets.loading && <div className="empty">Loading…</div>}
        </div>
      </div>
      {open && <FleetReleases key={`releases-${open.id}`} fleet={open} manage={manage} />}
      {open && <FleetDevices key={open.id} fleet={open} manage={manage} onChanged={fleets.reload} />}
    </>
  );
}
