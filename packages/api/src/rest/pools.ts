/**
 * `/api/v1/pools` (an organization's view and management of pools) and `/api/v1/agent/**` (the
 * HTTPS protocol of an organization pool's agent, authenticated by the pool's enrollment token).
 */
import { Readable } from 'node:stream';
import { requestMeta } from '@edgetune/auth';
import { storage, type Storage } from '@edgetune/storage';
import { bearerToken } from '../context';
import { json, readJson, streamBody } from '../http/util';
import type { Route } from '../http/routes';
import { agentFromToken, completeTask, failTask, heartbeatTask, pollTask, readTaskObject, registerAgent, writeTaskObject, type AgentCaller } from '../pools/agent';
import { createPool, deletePool, getPool, listPools, rotatePoolToken } from '../pools/pools';
import { brokerStorage, readGrantedObject, storageGrantCaller, writeGrantedObject, type StorageGrant } from '../pools/storage-grants';
import { restCreatedPool, restPool } from './views';

export const poolRoutes: Route[] = [
  { method: 'GET', pattern: /^\/pools$/, run: async (c) => json({ object: 'list', data: (await listPools(c)).map(restPool), has_more: false }) },
  { method: 'POST', pattern: /^\/pools$/, run: async (c, req) => json(restCreatedPool(await createPool(c, await readJson(req))), 201) },
  { method: 'GET', pattern: /^\/pools\/([^/]+)$/, run: async (c, _r, _u, m) => json(restPool(await getPool(c, m[1]))) },
  { method: 'DELETE', pattern: /^\/pools\/([^/]+)$/, run: async (c, _r, _u, m) => json({ ...(await deletePool(c, m[1])), object: 'pool' }) },
  { method: 'POST', pattern: /^\/pools\/([^/]+)\/token$/, run: async (c, _r, _u, m) => json(restCreatedPool(await rotatePoolToken(c, m[1]))) },
];

/** Paths below /api/v1 that belong to agents rather than to an organization's callers. */
export const AGENT_PREFIX = '/agent/';

export const agentRoutes: Route<AgentCaller>[] = [
  {
    method: 'POST',
    pattern: /^\/agent\/register$/,
    run: async (a, req) => {
      const r = await registerAgent(a, await readJson(req));
      return json({ agent_id: r.agentId, pool_id: r.poolId, pool_name: r.poolName, profiles: r.profiles, heartbeat_every_seconds: r.heartbeatEverySeconds });
    },
  },
  { method: 'POST', pattern: /^\/agent\/poll$/, run: async (a, req) => json({ task: await pollTask(a, await readJson(req), req.signal) }) },
  { method: 'POST', pattern: /^\/agent\/tasks\/([^/]+)\/heartbeat$/, run: async (a, req, _u, m) => json(await heartbeatTask(a, m[1], await readJson(req))) },
  { method: 'POST', pattern: /^\/agent\/tasks\/([^/]+)\/complete$/, run: async (a, req, _u, m) => json(await completeTask(a, m[1], await readJson(req))) },
  { method: 'POST', pattern: /^\/agent\/tasks\/([^/]+)\/fail$/, run: async (a, req, _u, m) => json(await failTask(a, m[1], await readJson(req))) },
  {
    method: 'GET',
    pattern: /^\/agent\/tasks\/([^/]+)\/objects\/([^/]+)$/,
    run: async (a, _r, _u, m) => {
      const o = await readTaskObject(a, m[1], m[2]);
      return new Response(streamBody(o.stream), { headers: { 'content-type': 'application/octet-stream', 'content-length': String(o.size) } });
    },
  },
  {
    method: 'PUT',
    pattern: /^\/agent\/tasks\/([^/]+)\/objects\/([^/]+)$/,
    run: async (a, req, _u, m) => {
      const body = req.body ? Readable.fromWeb(req.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
      return json(await writeTaskObject(a, m[1], m[2], body), 201);
    },
  },
];

export function agentCaller(req: Request): Promise<AgentCaller> {
  return agentFromToken(bearerToken(req.headers.get('authorization')), requestMeta(req.headers));
}

/** Paths below /api/v1 that belong to platform pool workers holding a job's storage grant. */
export const STORAGE_PREFIX = '/storage/';

const requestBody = (req: Request) => (req.body ? Readable.fromWeb(req.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]));

/** The routes of a grant's holder; `store` is the platform's object store (another in tests). */
export function grantedStorageRoutes(store: () => Storage = storage): Route<StorageGrant>[] {
  return [
    { method: 'POST', pattern: /^\/storage\/broker$/, run: async (g, req) => json(await brokerStorage(g, await readJson(req), store())) },
    {
      method: 'GET',
      pattern: /^\/storage\/objects$/,
      run: async (g, _r, url) => {
        const o = await readGrantedObject(g, url.searchParams.get('key'), store());
        return new Response(streamBody(o.stream), { headers: { 'content-type': 'application/octet-stream', 'content-length': String(o.size) } });
      },
    },
    { method: 'PUT', pattern: /^\/storage\/objects$/, run: async (g, req, url) => json(await writeGrantedObject(g, url.searchParams.get('key'), requestBody(req), store()), 201) },
  ];
}

export const storageRoutes = grantedStorageRoutes();

export function storageCaller(req: Request): Promise<StorageGrant> {
  return storageGrantCaller(bearerToken(req.headers.get('authorization')));
}
