/**
 * `/api/v1/fleets`: an organization's fleets and their devices (API keys and the portal session),
 * and the two routes an edge device calls with its own tokens (enroll, check in).
 */
import { requestMeta } from '@edgetune/auth';
import { bearerToken } from '../context';
import { checkIn, deviceCallerFromToken, enrollDevice, type DeviceCaller } from '../fleets/enrollment';
import { createFleet, deleteFleet, getFleet, listFleetDevices, listFleets, revokeDevice, rotateFleetToken } from '../fleets/fleets';
import type { Route } from '../http/routes';
import { intParam, json, readJson } from '../http/util';
import { restCreatedFleet, restFleet, restFleetDevice } from './views';

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
];

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
];

export function deviceCaller(req: Request): Promise<DeviceCaller> {
  return deviceCallerFromToken(bearerToken(req.headers.get('authorization')), requestMeta(req.headers));
}
