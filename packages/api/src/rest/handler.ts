/** `/api/v1/**`: the platform's own REST API (Bearer API key or the portal's session). */
import { DomainError, errorCodes } from '@edgetune/contracts';
import { requireCaller } from '../context';
import { listDevices, listPools } from '../domain/devices';
import { deleteFile, fileContent, getFile, listFiles } from '../domain/files';
import { cancelJob, createJob, getJob, listJobEvents, listJobs, versionsForJobs } from '../domain/jobs';
import { getModelVersion, listModelVersions, openVariantDownload } from '../domain/models';
import { toDomainError } from '../errors';
import { intParam, json, readJson, streamBody, uploadFromRequest } from '../http/util';
import { logger } from '../logger';
import { toOpenAIEvent, toOpenAIFile, toOpenAIJob } from '../openai/mappers';
import { authorize, type Caller } from '../tenant';
import { openApiDocument } from './openapi';
import { restJob, restModel } from './views';

type Handler = (caller: Caller, req: Request, url: URL, m: string[]) => Promise<Response>;
interface Route {
  method: string;
  pattern: RegExp;
  run: Handler;
}

const fileJson = (f: Parameters<typeof toOpenAIFile>[0]) => ({ ...toOpenAIFile(f), sha256: f.sha256, examples: f.examples, stats: f.stats });

const routes: Route[] = [
  { method: 'POST', pattern: /^\/files$/, run: async (c, req) => json(fileJson(await uploadFromRequest(c, req, 'fine-tune')), 201) },
  {
    method: 'GET',
    pattern: /^\/files$/,
    run: async (c, _r, url) => {
      const p = await listFiles(c, { limit: intParam(url, 'limit'), after: url.searchParams.get('after'), purpose: url.searchParams.get('purpose') });
      return json({ object: 'list', data: p.data.map(fileJson), has_more: p.hasMore });
    },
  },
  { method: 'GET', pattern: /^\/files\/([^/]+)$/, run: async (c, _r, _u, m) => json(fileJson(await getFile(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/files\/([^/]+)\/content$/,
    run: async (c, _r, _u, m) => {
      const { file, stream } = await fileContent(c, m[1]);
      return new Response(streamBody(stream), { headers: { 'content-type': 'application/jsonl', 'content-length': String(file.bytes), etag: `"${file.sha256}"` } });
    },
  },
  { method: 'DELETE', pattern: /^\/files\/([^/]+)$/, run: async (c, _r, _u, m) => json({ ...(await deleteFile(c, m[1])), object: 'file' }) },
  { method: 'POST', pattern: /^\/jobs$/, run: async (c, req) => json(restJob(await createJob(c, await readJson(req))), 201) },
  {
    method: 'GET',
    pattern: /^\/jobs$/,
    run: async (c, _r, url) => {
      const p = await listJobs(c, { after: url.searchParams.get('after'), limit: intParam(url, 'limit') });
      const versions = await versionsForJobs(c, p.data.map((j) => j.id));
      return json({ object: 'list', data: p.data.map((j) => toOpenAIJob(j, versions.get(j.id))), has_more: p.hasMore });
    },
  },
  { method: 'GET', pattern: /^\/jobs\/([^/]+)$/, run: async (c, _r, _u, m) => json(restJob(await getJob(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/jobs\/([^/]+)\/events$/,
    run: async (c, _r, url, m) => {
      const p = await listJobEvents(c, m[1], { after: url.searchParams.get('after'), limit: intParam(url, 'limit') });
      return json({ object: 'list', data: p.data.map((e) => ({ ...toOpenAIEvent(e), seq: e.seq })), has_more: p.hasMore });
    },
  },
  { method: 'POST', pattern: /^\/jobs\/([^/]+)\/cancel$/, run: async (c, _r, _u, m) => json(restJob(await cancelJob(c, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/models$/,
    run: async (c) => json({ object: 'list', data: (await listModelVersions(c)).map((v) => restModel(v.version, v.variants)) }),
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
      return json({ object: 'list', data: await listDevices() });
    },
  },
  {
    method: 'GET',
    pattern: /^\/pools$/,
    run: async (c) => {
      authorize(c, 'read');
      const pools = await listPools();
      return json({
        object: 'list',
        data: pools.map((p) => ({
          id: p.id,
          kind: p.kind,
          profiles: p.profiles,
          online: p.online,
          pollers: p.pollers,
          last_poll_at: p.lastPollAt?.toISOString() ?? null,
          registered_at: p.registeredAt.toISOString(),
          last_seen_at: p.lastSeenAt.toISOString(),
          fingerprint: p.fingerprint,
        })),
      });
    },
  },
];

async function download(caller: Caller, req: Request, model: string, variantId: string): Promise<Response> {
  const d = await openVariantDownload(caller, model, variantId, req.headers.get('range'));
  const base = {
    'accept-ranges': 'bytes',
    etag: `"${d.variant.sha256}"`,
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${`${d.version.name}-${d.variant.device}-${d.variant.quantization}.gguf`.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'x-checksum-sha256': d.variant.sha256,
  };
  if (d.range.kind === 'unsatisfiable') {
    return new Response(null, { status: 416, headers: { ...base, 'content-range': `bytes */${d.size}` } });
  }
  const isHead = req.method === 'HEAD';
  if (isHead) d.stream?.destroy();
  if (d.range.kind === 'partial') {
    const { start, end } = d.range;
    return new Response(isHead ? null : streamBody(d.stream!), {
      status: 206,
      headers: { ...base, 'content-range': `bytes ${start}-${end}/${d.size}`, 'content-length': String(end - start + 1) },
    });
  }
  return new Response(isHead ? null : streamBody(d.stream!), { status: 200, headers: { ...base, 'content-length': String(d.size) } });
}

function errorResponse(e: unknown): Response {
  const d = toDomainError(e);
  if (d.code === 'internal') logger.error({ err: e }, 'rest handler failed');
  return json({ error: { code: d.code, message: d.message, param: d.param, details: d.details } }, errorCodes[d.code] ?? 500);
}

export async function handleRest(req: Request, opts: { sessionUserId: string | null }): Promise<Response> {
  try {
    const url = new URL(req.url);
    const path = url.pathname.replace(/^.*?\/api\/v1(?=\/|$)/, '').replace(/\/+$/, '') || '/';
    if (path === '/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) return json(openApiDocument());
    const matching = routes.filter((r) => r.pattern.test(path));
    if (!matching.length) throw new DomainError('not_found', `Unknown endpoint: ${req.method} /api/v1${path}`);
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      return json({ error: { code: 'method_not_allowed', message: `Method ${req.method} is not allowed for /api/v1${path}.`, param: null, details: [] } }, 405, {
        allow: matching.map((r) => r.method).join(', '),
      });
    }
    const caller = await requireCaller({ sessionUserId: opts.sessionUserId, authorization: req.headers.get('authorization') });
    const m = route.pattern.exec(path)!;
    return await route.run(caller, req, url, [...m].map((s, i) => (i === 0 ? s : decodeURIComponent(s))));
  } catch (e) {
    return errorResponse(e);
  }
}
