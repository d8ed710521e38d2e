import { z } from 'zod';
import '../testing/env';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createApiKey } from '../identity/api-keys';
import { goodJsonl, newOrg, seedPublishedModel, useDatabase } from '../testing/fixtures';
import { handleRest } from './handler';
import { errorSchema, fileSchema, jobSchema, modelSchema } from './schemas';

useDatabase();

/** The answer is exactly what the OpenAPI document says (parsing strips any field it does not list). */
const conforms = (schema: z.ZodType, body: unknown) => assert.deepEqual(schema.parse(body), body);

const base = 'http://edgetune.test/api/v1';

test('REST: upload, model manifest, ranged download, errors', async () => {
  const { caller, orgId, userId } = await newOrg('rest');
  const { key } = await createApiKey(caller, { name: 'rest' });
  const auth = { authorization: `Bearer ${key}` };
  const call = (p: string, init: RequestInit = {}, session: string | null = null) =>
    handleRest(new Request(base + p, { ...init, headers: { ...auth, ...(init.headers ?? {}) } }), { sessionUserId: session });

  const fd = new FormData();
  fd.append('file', new Blob([goodJsonl(3)]), 'train.jsonl');
  const up = await call('/files', { method: 'POST', body: fd });
  assert.equal(up.status, 201, await up.clone().text());
  const file = await up.json();
  conforms(fileSchema, file);
  assert.equal(file.examples, 3);

  const raw = await call('/files?filename=raw.jsonl', { method: 'POST', body: '{"messages":[]}\n', headers: { 'content-type': 'application/jsonl' } });
  assert.equal(raw.status, 400);
  const err = await raw.json();
  conforms(errorSchema, err);
  assert.equal(err.error.code, 'validation_failed');
  assert.match(err.error.message, /Line 1/);
  assert.equal(err.error.details[0].line, 1);

  const m = await seedPublishedModel(orgId, file.id);
  const model = await (await call(`/models/${encodeURIComponent(m.name)}`)).json();
  conforms(modelSchema, model);
  assert.equal(model.model, m.name);
  assert.equal(model.version, 1);
  const v = model.variants[0];
  assert.equal(v.format, 'gguf');
  assert.equal(v.sha256, m.sha256);
  assert.equal(v.size_bytes, m.content.length);
  assert.match(v.download_url, /^https?:\/\/.+\/api\/v1\/models\/.+\/variants\/var_.+\/download$/);
  assert.equal(v.metrics.decode_tokens_per_second, 20);

  const dlPath = new URL(v.download_url).pathname.replace('/api/v1', '');
  const full = await call(dlPath);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('accept-ranges'), 'bytes');
  assert.equal(full.headers.get('etag'), `"${m.sha256}"`);
  const body = Buffer.from(await full.arrayBuffer());
  assert.equal(createHash('sha256').update(body).digest('hex'), m.sha256);

  const part = await call(dlPath, { headers: { range: 'bytes=4-9' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 4-9/${m.content.length}`);
  assert.equal(part.headers.get('content-length'), '6');
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), m.content.subarray(4, 10));

  const bad = await call(dlPath, { headers: { range: `bytes=${m.content.length + 10}-` } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get('content-range'), `bytes */${m.content.length}`);

  const job = await (await call(`/jobs/${m.jobId}`)).json();
  conforms(jobSchema, job);
  assert.equal(job.status, 'succeeded');
  assert.ok(Array.isArray(job.stages));
  assert.equal(job.model_version.model, m.name);

  // the portal's session works too; no credentials → 401
  assert.equal((await handleRest(new Request(`${base}/files`), { sessionUserId: userId })).status, 200);
  const anon = await handleRest(new Request(`${base}/files`), { sessionUserId: null });
  assert.equal(anon.status, 401);
  assert.equal((await anon.json()).error.code, 'unauthenticated');
  assert.equal((await call('/nothing-here')).status, 404);

  const spec = await (await handleRest(new Request(`${base}/openapi.json`), { sessionUserId: null })).json();
  assert.equal(spec.openapi, '3.1.0');
  assert.ok(spec.paths['/models/{fine_tuned_model}/variants/{variant_id}/download']);
});
