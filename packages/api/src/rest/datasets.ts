/** `/api/v1` routes of datasets, their versions and resumable uploads. */
import { deleteDataset, estimateVersion, getDataset, listDatasets, previewVersion } from '../datasets/datasets';
import { abortUpload, completeUpload, createUpload, getUpload, putChunk, UploadOffsetConflict, uploadStatusOf } from '../datasets/uploads';
import type { Route } from '../http/routes';
import { intParam, json, readJson } from '../http/util';
import type { Caller } from '../tenant';
import { restDataset, restDatasetDetail, restUpload, restVersion, restVersionResult } from './views';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A version of the dataset in the path (a version of another dataset is not found here). */
async function versionOf(c: Caller, datasetId: string, fileId: string) {
  const d = await getDataset(c, datasetId);
  const v = d.versions.find((x) => x.file.id === fileId || String(x.file.version) === fileId);
  if (!v) return null;
  return v;
}

function notFoundVersion(datasetId: string, fileId: string): Response {
  return json({ error: { code: 'not_found', message: `Dataset '${datasetId}' has no version '${fileId}'.`, param: 'version', details: [] } }, 404);
}

export const datasetRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/datasets$/,
    run: async (c, _r, url) => {
      const p = await listDatasets(c, { limit: intParam(url, 'limit'), after: url.searchParams.get('after') });
      return json({ object: 'list', data: p.data.map((s) => restDataset(s.dataset, { versions: s.versions, latest: s.latest })), has_more: p.hasMore });
    },
  },
  { method: 'GET', pattern: /^\/datasets\/([^/]+)$/, run: async (c, _r, _u, m) => json(restDatasetDetail(await getDataset(c, m[1]))) },
  {
    method: 'DELETE',
    pattern: /^\/datasets\/([^/]+)$/,
    run: async (c, _r, _u, m) => json({ ...(await deleteDataset(c, m[1])), object: 'dataset' }),
  },
  {
    method: 'GET',
    pattern: /^\/datasets\/([^/]+)\/versions$/,
    run: async (c, _r, _u, m) => {
      const d = await getDataset(c, m[1]);
      return json({ object: 'list', data: d.versions.map((v) => restVersion(v.file, v.usedBy)), has_more: false });
    },
  },
  {
    method: 'GET',
    pattern: /^\/datasets\/([^/]+)\/versions\/([^/]+)$/,
    run: async (c, _r, _u, m) => {
      const v = await versionOf(c, m[1], m[2]);
      return v ? json(restVersion(v.file, v.usedBy)) : notFoundVersion(m[1], m[2]);
    },
  },
  {
    method: 'GET',
    pattern: /^\/datasets\/([^/]+)\/versions\/([^/]+)\/preview$/,
    run: async (c, _r, url, m) => {
      const v = await versionOf(c, m[1], m[2]);
      if (!v) return notFoundVersion(m[1], m[2]);
      const p = await previewVersion(c, v.file.id, { offset: intParam(url, 'offset'), limit: intParam(url, 'limit') });
      return json({ object: 'list', data: p.records, total: p.total, offset: p.offset, limit: p.limit, format: v.file.format });
    },
  },
  {
    method: 'GET',
    pattern: /^\/datasets\/([^/]+)\/versions\/([^/]+)\/estimate$/,
    run: async (c, _r, url, m) => {
      const v = await versionOf(c, m[1], m[2]);
      if (!v) return notFoundVersion(m[1], m[2]);
      return json(await estimateVersion(c, v.file.id, { baseModel: url.searchParams.get('base_model') ?? '', epochs: intParam(url, 'epochs') ?? 3 }));
    },
  },
  {
    method: 'POST',
    pattern: /^\/uploads$/,
    run: async (c, req) => {
      const b = await readJson(req);
      const size = b.size;
      const u = await createUpload(c, {
        filename: str(b.filename) ?? '',
        size: typeof size === 'number' ? size : Number.NaN,
        purpose: str(b.purpose),
        dataset: str(b.dataset),
        format: str(b.format),
        columns: (b.columns ?? null) as Record<string, string> | string | null,
        baseModel: str(b.baseModel) ?? str(b.base_model),
      });
      return json(restUpload(uploadStatusOf(u)), 201);
    },
  },
  { method: 'GET', pattern: /^\/uploads\/([^/]+)$/, run: async (c, _r, _u, m) => json(restUpload(await getUpload(c, m[1]))) },
  {
    method: 'PUT',
    pattern: /^\/uploads\/([^/]+)$/,
    run: async (c, req, _u, m) => {
      const len = req.headers.get('content-length');
      try {
        const r = await putChunk(c, m[1], {
          contentRange: req.headers.get('content-range'),
          contentLength: len !== null && /^\d+$/.test(len) ? Number(len) : null,
          body: (req.body ?? []) as unknown as AsyncIterable<Uint8Array>,
        });
        return json({ id: m[1], offset: r.offset, size: r.size });
      } catch (e) {
        // The client needs the offset to continue, in the error body as well.
        if (e instanceof UploadOffsetConflict) {
          return json({ error: { code: e.code, message: e.message, param: e.param, details: e.details, offset: e.offset }, offset: e.offset }, 409);
        }
        throw e;
      }
    },
  },
  { method: 'POST', pattern: /^\/uploads\/([^/]+)\/complete$/, run: async (c, req, _u, m) => json(restVersionResult(await completeUpload(c, m[1], { signal: req.signal }))) },
  { method: 'DELETE', pattern: /^\/uploads\/([^/]+)$/, run: async (c, _r, _u, m) => json(restUpload(await abortUpload(c, m[1]))) },
];
