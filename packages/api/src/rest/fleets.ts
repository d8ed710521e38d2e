/**
 * `/api/v1/fleets`: an organization's fleets and their devices (API keys and the portal session),
 * and the two routes an edge device calls with its own tokens (enroll, check in).
 */
import { requestMeta } from '@edgetune/auth';
import { bearerToken } from '../context';
import { checkIn, deviceCallerFromToken, enrollDevice, type DeviceCaller } from '../fleets/enrollment';
import { createFleet, deleteFleet, getFleet, listFleetDevices, listFleets, revokeDevice, rotateFleetToken } from '../fleets/fleets';
import type { Route } from '../http/routes';
import { intParam, json, rangedFile, readJson } from '../http/util';
import { deviceReleaseMetadata, deviceRoot, deviceTimestamp, openDeviceTarget } from '../fleets/device-updates';
import { advanceRelease, createRelease, getRelease, listReleases, pauseRelease, resumeRelease, rollbackRelease } from '../fleets/releases';
import { rotateFleetRoot } from '../fleets/fleets';
import { restCreatedFleet, restFleet, restFleetDevice, restRelease } from './views';

export const fleetRoutes: Route[] = [
  { method: 'GET', pattern: /^\/fleets$/, run: async (c) => json({ object: 'list', data: (await listFleets(c)).map(restFleet), has_more: false }) },
  { method: 'POST', pattern: /^\/fleets$/, run: async (c, req) => json(restCreatedFleet(await createFleet(c, await readJson(req))), 201) },
  { method: 'GET', pattern: /^\/fleets\/([^/]+)$/, run: async (c, _r, _u, m) => json(restFleet(await getFleet(c, m[1]))) },
  { method: 'DELETE', pattern: /^\/fleets\/([^/]+)$/, run: async (c, _r, _u, m) => json({ ...(await deleteFleet(c, m[1])), object: 'fleet' }) },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/token$/, run: async (c, _r, _u, m) => json(restCreatedFleet(await rotateFleetToken(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/fleets\/([^/]+)\/devices$/,
    run: async (c, _r, url, m) => {
      const p = await listFleetDevices(c, m[1], { limit: intParam(url, 'limit'), after: url.searchParams.get('after') });
      return json({ object: 'list', data: p.data.map(restFleetDevice), has_more: p.hasMore });
    },
  },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/devices\/([^/]+)\/revoke$/, run: async (c, _r, _u, m) => json(restFleetDevice(await revokeDevice(c, m[1], m[2]))) },
  {
    method: 'GET',
    pattern: /^\/fleets\/([^/]+)\/releases$/,
    run: async (c, _r, url, m) => {
      const p = await listReleases(c, m[1], { limit: intParam(url, 'limit') });
      return json({ object: 'list', data: p.data.map(restRelease), has_more: p.hasMore });
    },
  },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/releases$/, run: async (c, req, _u, m) => json(restRelease(await createRelease(c, m[1], await readJson(req))), 201) },
  { method: 'GET', pattern: /^\/fleets\/([^/]+)\/releases\/([^/]+)$/, run: async (c, _r, _u, m) => json(restRelease(await getRelease(c, m[1], m[2]))) },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/releases\/([^/]+)\/advance$/, run: async (c, _r, _u, m) => json(restRelease(await advanceRelease(c, m[1], m[2]))) },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/releases\/([^/]+)\/pause$/, run: async (c, _r, _u, m) => json(restRelease(await pauseRelease(c, m[1], m[2]))) },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/releases\/([^/]+)\/resume$/, run: async (c, _r, _u, m) => json(restRelease(await resumeRelease(c, m[1], m[2]))) },
  { method: 'POST', pattern: /^\/fleets\/([^/]+)\/releases\/([^/]+)\/rollback$/, run: async (c, _r, _u, m) => json(restRelease(await rollbackRelease(c, m[1], m[2])), 201) },
  {
    method: 'POST',
    pattern: /^\/fleets\/([^/]+)\/root\/rotate$/,
    run: async (c, _r, _u, m) => {
      const r = await rotateFleetRoot(c, m[1]);
      return json({ object: 'fleet.root', fleet_id: m[1], version: r.version, key_id: r.keyId }, 201);
    },
  },
];

const metadata = (body: string, headers: Record<string, string> = {}) => new Response(body, { headers: { 'content-type': 'application/json', 'cache-control': 'no-cache', ...headers } });
const TUF = '\\/fleets\\/([^/]+)\\/tuf';

/** The routes of an edge device: its fleet's enrollment token or its own device token, never an API key. */
export const deviceRoutes: Route<DeviceCaller>[] = [
  {
    method: 'POST',
    pattern: /^\/fleets\/([^/]+)\/devices$/,
    run: async (d, req, _u, m) => {
      const e = await enrollDevice(d, m[1], await readJson(req));
      return json({ ...restFleetDevice(e.device), device_id: e.device.id, device_token: e.deviceToken, check_in_seconds: e.checkInSeconds }, 201);
    },
  },
  {
    method: 'POST',
    pattern: /^\/fleets\/([^/]+)\/devices\/([^/]+)\/check-in$/,
    run: async (d, req, _u, m) => {
      const r = await checkIn(d, m[1], m[2], await readJson(req));
      return json({ ...restFleetDevice(r.device), check_in_seconds: r.checkInSeconds });
    },
  },
  // TUF metadata of the device's release (consistent snapshots: versioned file names).
  { method: 'GET', pattern: new RegExp(`^${TUF}\\/(\\d{1,9})\\.root\\.json$`), run: async (d, _r, _u, m) => metadata(await deviceRoot(d, m[1], Number(m[2]))) },
  {
    method: 'GET',
    pattern: new RegExp(`^${TUF}\\/timestamp\\.json$`),
    run: async (d, req, _u, m) => {
      const t = await deviceTimestamp(d, m[1]);
      // Most polls find nothing new: answer them without a body.
      if (req.headers.get('if-none-match') === t.etag) return new Response(null, { status: 304, headers: { etag: t.etag, 'cache-control': 'no-cache' } });
      return metadata(t.body, { etag: t.etag });
    },
  },
  ...(['snapshot', 'targets'] as const).map(
    (role): Route<DeviceCaller> => ({
      method: 'GET',
      pattern: new RegExp(`^${TUF}\\/(\\d{1,9})\\.${role}\\.json$`),
      run: async (d, _r, _u, m) => metadata(await deviceReleaseMetadata(d, m[1], role, Number(m[2]))),
    }),
  ),
  { method: 'GET', pattern: new RegExp(`^${TUF}\\/targets\\/(.+)$`), run: (d, req, _u, m) => deviceTarget(d, req, m[1], m[2]) },
  { method: 'HEAD', pattern: new RegExp(`^${TUF}\\/targets\\/(.+)$`), run: (d, req, _u, m) => deviceTarget(d, req, m[1], m[2]) },
];

async function deviceTarget(d: DeviceCaller, req: Request, fleetId: string, path: string): Promise<Response> {
  const t = await openDeviceTarget(d, fleetId, path, req.headers.get('range'));
  return rangedFile(req, t, { etag: `"${t.sha256}"`, 'x-checksum-sha256': t.sha256 });
}

export function deviceCaller(req: Request): Promise<DeviceCaller> {
  return deviceCallerFromToken(bearerToken(req.headers.get('authorization')), requestMeta(req.headers));
}
