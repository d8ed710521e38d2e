/** `/api/v1/**`: the platform's own REST API (Bearer API key or the portal's session). */
import { retryAfterSecondsOf } from '@edgetune/auth';
import { errorCodes, type DomainError } from '@edgetune/contracts';
import { requireCaller } from '../context';
import { listDevices } from '../devices/devices';
import { deleteFile, fileContent, getFile, listFiles } from '../datasets/files';
import { cancelJob, createJob, getJob, listJobEvents, listJobs, versionsForJobs } from '../jobs/jobs';
import { getModelVersion, listModelVersions, openVariantDownload } from '../models/models';
import { dispatch, routePath, type Route } from '../http/routes';
import { billingRoutes } from './billing';
import { assertSameOrigin, attachment, intParam, json, rangedFile, readJson, streamBody, uploadFromRequest } from '../http/util';
import { authorize, type Caller } from '../tenant';
import { datasetRoutes } from './datasets';
import { identityRoutes } from './identity';
import { openApiDocument } from './openapi';
import { AGENT_PREFIX, agentCaller, agentRoutes, poolRoutes, STORAGE_PREFIX, storageCaller, storageRoutes } from './pools';
import { deviceCaller, deviceRoutes, fleetRoutes } from './fleets';
import { restDevice, restFile, restJob, restJobEvent, restModel } from './views';

const MOUNT = '/api/v1';

/** Exported so the isolation and role matrix tests can enumerate every route. */
export const routes: Route[] = [
  { method: 'POST', pattern: /^\/files$/, run: async (c, req) => json({ ...restFile((await uploadFromRequest(c, req, 'fine-tune')).file) }, 201) },
  {
    method: 'GET',
    pattern: /^\/files$/,
    run: async (c, _r, url) => {
      const p = await listFiles(c, { limit: intParam(url, 'limit'), after: url.searchParams.get('after'), purpose: url.searchParams.get('purpose') });
      return json({ object: 'list', data: p.data.map(restFile), has_more: p.hasMore });
    },
  },
  { method: 'GET', pattern: /^\/files\/([^/]+)$/, run: async (c, _r, _u, m) => json(restFile(await getFile(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/files\/([^/]+)\/content$/,
    run: async (c, _r, _u, m) => {
      const { file, stream, size } = await fileContent(c, m[1]);
      // The stored content is the normalized JSONL; the sha256 names the bytes as uploaded.
      return new Response(streamBody(stream), { headers: { 'content-type': 'application/jsonl', 'content-length': String(size), etag: `W/"${file.sha256}"` } });
    },
  },
  { method: 'DELETE', pattern: /^\/files\/([^/]+)$/, run: async (c, _r, _u, m) => json({ ...(await deleteFile(c, m[1])), object: 'file' }) },
  ...datasetRoutes,
  ...identityRoutes,
  ...billingRoutes,
  { method: 'POST', pattern: /^\/jobs$/, run: async (c, req) => json(restJob(await createJob(c, await readJson(req))), 201) },
  {
    method: 'GET',
    pattern: /^\/jobs$/,
    run: async (c, _r, url) => {
      const p = await listJobs(c, { after: url.searchParams.get('after'), limit: intParam(url, 'limit') });
      const versions = await versionsForJobs(c, p.data.map((j) => j.id));
      return json({ object: 'list', data: p.data.map((j) => restJob({ job: j, version: versions.get(j.id) })), has_more: p.hasMore });
    },
  },
  { method: 'GET', pattern: /^\/jobs\/([^/]+)$/, run: async (c, _r, _u, m) => json(restJob(await getJob(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/events$/,
    run: async (c, _r, url, m) => {
      const p = await listJobEvents(c, m[1], { after: url.searchParams.get('after'), limit: intParam(url, 'limit') });
      return json({ object: 'list', data: p.data.map(restJobEvent), has_more: p.hasMore });
    },
  },
  { method: 'POST', pattern: /^\/jobs\/([^/]+)\/cancel$/, run: async (c, _r, _u, m) => json(restJob(await cancelJob(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/models$/,
    run: async (c) => json({ object: 'list', data: (await listModelVersions(c)).map((v) => restModel(v.version, v.variants)), has_more: false }),
  },
  {
    method: 'GET',
    pattern: /^\/models\/([^/]+)$/,
    run: async (c, _r, _u, m) => {
      const v = await getModelVersion(c, m[1]);
      return json(restModel(v.version, v.variants));
    },
  },
  { method: 'GET', pattern: /^\/models\/([^/]+)\/variants\/([^/]+)\/download$/, run: (c, req, _u, m) => download(c, req, m[1], m[2]) },
  { method: 'HEAD', pattern: /^\/models\/([^/]+)\/variants\/([^/]+)\/download$/, run: (c, req, _u, m) => download(c, req, m[1], m[2]) },
  {
    method: 'GET',
    pattern: /^\/devices$/,
    run: async (c) => {
      authorize(c, 'read');
      return json({ object: 'list', data: (await listDevices()).map(restDevice), has_more: false });
    },
  },
  ...poolRoutes,
  ...fleetRoutes,
];

async function download(caller: Caller, req: Request, model: string, variantId: string): Promise<Response> {
  const d = await openVariantDownload(caller, model, variantId, req.headers.get('range'));
  return rangedFile(req, d, {
    etag: `"${d.variant.sha256}"`,
    'content-disposition': attachment(`${d.version.name}-${d.variant.device}-${d.variant.quantization}.gguf`),
    'x-checksum-sha256': d.variant.sha256,
  });
}

const renderError = (e: DomainError) => {
  const retry = retryAfterSecondsOf(e);
  return json({ error: { code: e.code, message: e.message, param: e.param, details: e.details } }, errorCodes[e.code] ?? 500, retry ? { 'retry-after': String(retry) } : {});
};
const methodNotAllowed = (message: string, allow: string) => json({ error: { code: 'method_not_allowed', message, param: null, details: [] } }, 405, { allow });

/**
 * Whether a request is one of an edge device's own (enroll, check in, TUF metadata and files):
 * those never use a session, so the web server answers them without going through Next.js's
 * router (measured by bench:fleet: 1.85x the requests per second, half the p99).
 */
export function isDeviceRequest(method: string, pathname: string): boolean {
  return pathname.startsWith(`${MOUNT}/fleets/`) && isDevicePath(method, pathname.slice(MOUNT.length).replace(/\/+$/, ''));
}

const isDevicePath = (method: string, path: string) => deviceRoutes.some((r) => r.method === method && r.pattern.test(path));

export async function handleRest(req: Request, opts: { sessionUserId: string | null }): Promise<Response> {
  const path = routePath(new URL(req.url), MOUNT);
  if ((req.method === 'GET' || req.method === 'HEAD') && path === '/openapi.json') return json(openApiDocument());
  // An organization pool's agent: its enrollment token, never a session or an API key.
  if (path.startsWith(AGENT_PREFIX)) {
    return dispatch(req, { name: 'agent', mount: MOUNT, routes: agentRoutes, caller: agentCaller, error: renderError, methodNotAllowed });
  }
  // A platform pool's worker: the job's storage grant, nothing else.
  if (path.startsWith(STORAGE_PREFIX)) {
    return dispatch(req, { name: 'storage', mount: MOUNT, routes: storageRoutes, caller: storageCaller, error: renderError, methodNotAllowed });
  }
  // An edge device: its fleet's enrollment token or its own device token.
  if (isDevicePath(req.method, path)) {
    return dispatch(req, { name: 'device', mount: MOUNT, routes: deviceRoutes, caller: deviceCaller, error: renderError, methodNotAllowed });
  }
  return dispatch(req, {
    name: 'rest',
    mount: MOUNT,
    routes,
    caller: (r) => {
      // A browser attaches the session cookie to cross-site requests too; a write by cookie must
      // come from our own pages. API keys are never sent by a browser on its own.
      if (!r.headers.get('authorization') && opts.sessionUserId) assertSameOrigin(r);
      return requireCaller({ sessionUserId: opts.sessionUserId, authorization: r.headers.get('authorization'), headers: r.headers });
    },
    error: renderError,
    methodNotAllowed,
  });
}
