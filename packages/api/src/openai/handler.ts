/** `/v1/**`: OpenAI-compatible fine-tuning API (files, fine_tuning.jobs, models). API keys only. */
import { retryAfterSecondsOf } from '@edgetune/auth';
import { requireCaller } from '../context';
import { deleteFile, fileContent, getFile, listFiles } from '../datasets/files';
import { cancelJob, createJob, getJob, listJobEvents, listJobs, lossesAtSteps, versionsForJobs } from '../jobs/jobs';
import { getModelVersion, listModelVersions } from '../models/models';
import { dispatch, type Route } from '../http/routes';
import { attachment, intParam, json, readJson, streamBody, uploadFromRequest } from '../http/util';
import { fromOpenAICreateJob, inOpenAIWords, openAIBaseModels, toOpenAICheckpoints, toOpenAIError, toOpenAIEvent, toOpenAIFile, toOpenAIJob, toOpenAIModel } from './mappers';

const listOf = <T extends { id: string }>(data: T[], hasMore: boolean) => ({
  object: 'list' as const,
  data,
  has_more: hasMore,
  first_id: data[0]?.id ?? null,
  last_id: data[data.length - 1]?.id ?? null,
});

/** Exported so the isolation and role matrix tests can enumerate every route. */
export const routes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/files$/,
    run: async (caller, req) => json(toOpenAIFile((await uploadFromRequest(caller, req)).file)),
  },
  {
    method: 'GET',
    pattern: /^\/files$/,
    run: async (caller, _req, url) => {
      const page = await listFiles(caller, { limit: intParam(url, 'limit'), after: url.searchParams.get('after'), purpose: url.searchParams.get('purpose') });
      return json(listOf(page.data.map(toOpenAIFile), page.hasMore));
    },
  },
  { method: 'GET', pattern: /^\/files\/([^/]+)$/, run: async (caller, _r, _u, m) => json(toOpenAIFile(await getFile(caller, m[1]))) },
  {
    method: 'GET',
    pattern: /^\/files\/([^/]+)\/content$/,
    run: async (caller, _r, _u, m) => {
      const { file, stream, size } = await fileContent(caller, m[1]);
      return new Response(streamBody(stream), {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), 'content-disposition': attachment(file.filename) },
      });
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/files\/([^/]+)$/,
    run: async (caller, _r, _u, m) => {
      const r = await deleteFile(caller, m[1]);
      return json({ id: r.id, object: 'file', deleted: true });
    },
  },
  {
    method: 'POST',
    pattern: /^\/fine_tuning\/jobs$/,
    run: async (caller, req) => {
      const body = await readJson(req);
      // learning_rate_multiplier scales the default of the job's objective, which follows the
      // training file's format (createJob itself reports a missing file).
      const file = typeof body.training_file === 'string' ? await getFile(caller, body.training_file).catch(() => null) : null;
      const d = await createJob(caller, fromOpenAICreateJob(body, file?.format === 'preference' ? 'dpo' : 'sft')).catch((e: unknown) => {
        throw inOpenAIWords(e, body);
      });
      return json(toOpenAIJob(d.job, d.version));
    },
  },
  {
    method: 'GET',
    pattern: /^\/fine_tuning\/jobs$/,
    run: async (caller, _req, url) => {
      const page = await listJobs(caller, { after: url.searchParams.get('after'), limit: intParam(url, 'limit') });
      const versions = await versionsForJobs(caller, page.data.map((j) => j.id));
      return json({ object: 'list', data: page.data.map((j) => toOpenAIJob(j, versions.get(j.id))), has_more: page.hasMore });
    },
  },
  {
    method: 'GET',
    pattern: /^\/fine_tuning\/jobs\/([^/]+)$/,
    run: async (caller, _r, _u, m) => {
      const d = await getJob(caller, m[1]);
      return json(toOpenAIJob(d.job, d.version));
    },
  },
  {
    method: 'POST',
    pattern: /^\/fine_tuning\/jobs\/([^/]+)\/cancel$/,
    run: async (caller, _r, _u, m) => {
      const d = await cancelJob(caller, m[1]);
      return json(toOpenAIJob(d.job, d.version));
    },
  },
  {
    method: 'GET',
    pattern: /^\/fine_tuning\/jobs\/([^/]+)\/events$/,
    run: async (caller, _req, url, m) => {
      const page = await listJobEvents(caller, m[1], { after: url.searchParams.get('after'), limit: intParam(url, 'limit') });
      return json({ object: 'list', data: page.data.map(toOpenAIEvent), has_more: page.hasMore });
    },
  },
  {
    method: 'GET',
    pattern: /^\/fine_tuning\/jobs\/([^/]+)\/checkpoints$/,
    run: async (caller, _r, _u, m) => {
      const d = await getJob(caller, m[1]);
      const steps = (d.job.result?.training?.checkpoints ?? []).map((c) => c.step);
      return json(listOf(toOpenAICheckpoints(d.job, d.version, await lossesAtSteps(caller, d.job.id, steps)), false));
    },
  },
  {
    method: 'GET',
    pattern: /^\/models$/,
    run: async (caller) => {
      const versions = await listModelVersions(caller);
      return json({ object: 'list', data: [...openAIBaseModels(), ...versions.map((v) => toOpenAIModel(v.version))] });
    },
  },
  {
    method: 'GET',
    pattern: /^\/models\/(.+)$/,
    run: async (caller, _r, _u, m) => {
      const id = m[1];
      const base = openAIBaseModels().find((b) => b.id === id);
      if (base) return json(base);
      return json(toOpenAIModel((await getModelVersion(caller, id)).version));
    },
  },
];

export function handleOpenAI(req: Request): Promise<Response> {
  return dispatch(req, {
    name: 'openai',
    mount: '/v1',
    routes,
    caller: (r) => requireCaller({ sessionUserId: null, authorization: r.headers.get('authorization'), headers: r.headers }),
    error: (e) => {
      const { status, body } = toOpenAIError(e);
      const retry = retryAfterSecondsOf(e);
      return json(body, status, retry ? { 'retry-after': String(retry) } : {});
    },
    methodNotAllowed: (message, allow) => json({ error: { message, type: 'invalid_request_error', param: null, code: 'method_not_allowed' } }, 405, { allow }),
  });
}
