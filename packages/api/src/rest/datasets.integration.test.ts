import { z } from 'zod';
import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { createApiKey } from '../identity/api-keys';
import { chatJsonl, leftovers, nothingLeft } from '../testing/datasets';
import { newOrg, useDatabase } from '../testing/fixtures';
import { datasetRoutes } from './datasets';
import { handleRest } from './handler';
import { datasetPaths, openApiDocument } from './openapi';
import { datasetDetailSchema, datasetSchema, datasetVersionSchema, fileSchema, listOf, previewSchema, uploadOffsetErrorSchema, uploadSchema, versionResultSchema } from './schemas';

useDatabase();

/** The answer is exactly what the OpenAPI document says (parsing strips any field it does not list). */
const conforms = (schema: z.ZodType, body: unknown) => assert.deepEqual(schema.parse(body), body);

const base = 'http://edgetune.test/api/v1';

async function client(tag: string) {
  const org = await newOrg(tag);
  const { key } = await createApiKey(org.caller, { name: tag });
  const call = (p: string, init: RequestInit = {}) =>
    handleRest(new Request(base + p, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } }), { sessionUserId: null });
  /** The portal: its session, no API key. */
  const portal = (p: string, init: RequestInit = {}) => handleRest(new Request(base + p, { ...init, headers: { origin: 'http://edgetune.test', ...(init.headers ?? {}) } }), { sessionUserId: org.userId });
  return { ...org, call, portal };
}

const jsonBody = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

test('REST: CSV and Parquet uploads with a column mapping become chat versions', async () => {
  const { call, orgId } = await client('rest-tabular');
  const csv = 'id,question,answer\n1,"What is 2+2?",Four\n2,"Capital of France, please?","Paris"\n3,Colour of the sky?,Blue\n';
  const fd = new FormData();
  fd.append('purpose', 'fine-tune');
  fd.append('dataset', 'quiz');
  fd.append('file', new Blob([csv]), 'quiz.csv');
  fd.append('format', 'prompt_completion');
  fd.append('columns', JSON.stringify({ prompt: 'question', completion: 'answer' }));
  const up = await call('/files', { method: 'POST', body: fd });
  assert.equal(up.status, 201, await up.clone().text());
  const f = await up.json();
  conforms(fileSchema, f);
  assert.equal(f.format, 'prompt_completion');
  assert.equal(f.examples, 3);
  assert.equal(f.version, 1);

  const ds = await (await call(`/datasets/${f.dataset_id}`)).json();
  conforms(datasetDetailSchema, ds);
  assert.equal(ds.name, 'quiz');
  assert.equal(ds.versions[0].source.container, 'csv');
  assert.deepEqual(ds.versions[0].source.columns, { prompt: 'question', completion: 'answer' });
  const preview = await (await call(`/datasets/${f.dataset_id}/versions/1/preview?offset=1&limit=1`)).json();
  conforms(previewSchema, preview);
  assert.equal(preview.total, 3);
  assert.deepEqual(preview.data, [{ line: 2, record: { messages: [{ role: 'user', content: 'Capital of France, please?' }, { role: 'assistant', content: 'Paris' }] } }]);

  // Parquet, as a raw body with the options in the query string.
  const parquet = Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'q', data: ['one?', 'two?', 'three?', 'four?'], type: 'STRING' },
        { name: 'a', data: ['1', '2', '3', '4'], type: 'STRING' },
      ],
    }),
  );
  const q = new URLSearchParams({ filename: 'numbers.parquet', dataset: 'quiz', columns: JSON.stringify({ prompt: 'q', completion: 'a' }) });
  const pq = await call(`/files?${q}`, { method: 'POST', body: parquet, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(pq.status, 201, await pq.clone().text());
  const pf = await pq.json();
  assert.equal(pf.version, 2);
  assert.equal(pf.examples, 4);
  assert.equal(pf.bytes, parquet.length);
  const content = await (await call(`/files/${pf.id}/content`)).text();
  assert.deepEqual(JSON.parse(content.split('\n')[3]), { messages: [{ role: 'user', content: 'four?' }, { role: 'assistant', content: '4' }] });

  // A mapping naming a column the file does not have: 400 naming it, nothing stored.
  const bad = await call(`/files?${new URLSearchParams({ filename: 'n.parquet', dataset: 'other', columns: JSON.stringify({ prompt: 'question', completion: 'a' }) })}`, {
    method: 'POST',
    body: parquet,
  });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /question/);
  const left = await leftovers(orgId);
  assert.equal(left.files.length, 2);
  assert.deepEqual(left.staged, []);

  // A multipart body cut off in the middle of the file: 400, nothing stored.
  const boundary = 'cutoffboundary';
  const cut = `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.jsonl"\r\n\r\n${chatJsonl(20).slice(0, 700)}`;
  const truncated = await call('/files', { method: 'POST', body: cut, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  assert.equal(truncated.status, 400);
  assert.match((await truncated.json()).error.message, /unexpected end/);
  assert.equal((await leftovers(orgId)).files.length, 2);
  assert.deepEqual((await leftovers(orgId)).staged, []);

  // A Content-Length over the limit is refused before the body is read.
  const big = await call('/files?filename=x.jsonl', { method: 'POST', body: 'x', headers: { 'content-length': String(64 * 1024 ** 4) } });
  assert.equal(big.status, 413);
});

test('REST: resumable upload from the portal session, with an interruption, then datasets routes', async () => {
  const { portal, call, orgId } = await client('rest-resume');
  const other = await client('rest-resume-other');
  const body = Buffer.from(chatJsonl(300));
  const total = body.length;
  const created = await portal('/uploads', jsonBody({ filename: 'convos.jsonl', size: total, dataset: 'convos', baseModel: 'lfm2-tiny' }));
  assert.equal(created.status, 201, await created.clone().text());
  const u = await created.json();
  conforms(uploadSchema, u);
  assert.equal(u.offset, 0);
  assert.ok(u.chunkSize > 0);

  const put = (start: number, end: number, chunk: Buffer, who = portal) =>
    who(`/uploads/${u.id}`, { method: 'PUT', body: new Uint8Array(chunk), headers: { 'content-range': `bytes ${start}-${end}/${total}`, 'content-type': 'application/octet-stream' } });
  const r1 = await put(0, 9999, body.subarray(0, 10_000));
  assert.equal(r1.status, 200, await r1.clone().text());
  assert.equal((await r1.json()).offset, 10_000);

  // The client lost the answer and resends the same chunk: 409 with where to continue.
  const again = await put(0, 9999, body.subarray(0, 10_000));
  assert.equal(again.status, 409);
  const conflict = await again.json();
  conforms(uploadOffsetErrorSchema, conflict);
  assert.equal(conflict.offset, 10_000);
  assert.equal(conflict.error.offset, 10_000);

  // Another organization cannot see or write it.
  assert.equal((await other.call(`/uploads/${u.id}`)).status, 404);
  assert.equal((await put(10_000, total - 1, body.subarray(10_000), other.call)).status, 404);
  assert.equal((await other.call(`/uploads/${u.id}/complete`, { method: 'POST' })).status, 404);
  assert.equal((await other.call(`/uploads/${u.id}`, { method: 'DELETE' })).status, 404);

  const status = await (await call(`/uploads/${u.id}`)).json();
  assert.equal(status.offset, 10_000);
  assert.equal(status.status, 'open');
  assert.equal((await put(10_000, total - 1, body.subarray(10_000))).status, 200);
  const done = await portal(`/uploads/${u.id}/complete`, { method: 'POST' });
  assert.equal(done.status, 200, await done.clone().text());
  const result = await done.json();
  assert.equal(result.file.examples, 300);
  conforms(versionResultSchema, result);
  assert.equal(result.dataset.name, 'convos');
  assert.equal(result.reused, false);
  assert.equal(result.report.format, 'chat');
  assert.equal((await (await call(`/uploads/${u.id}`)).json()).fileId, result.file.id);

  // Datasets routes.
  const list = await (await call('/datasets')).json();
  conforms(listOf(datasetSchema), list);
  assert.deepEqual(list.data.map((d: { name: string }) => d.name), ['convos']);
  assert.equal(list.data[0].latest_version.id, result.file.id);
  const versions = await (await call(`/datasets/${result.dataset.id}/versions`)).json();
  conforms(listOf(datasetVersionSchema), versions);
  assert.deepEqual(versions.data.map((v: { id: string }) => v.id), [result.file.id]);
  assert.deepEqual(versions.data[0].used_by, { jobs: [] });
  const est = await call(`/datasets/${result.dataset.id}/versions/${result.file.id}/estimate?base_model=lfm2-tiny&epochs=3`);
  assert.equal(est.status, 200, await est.clone().text());
  assert.equal((await call(`/datasets/${result.dataset.id}/versions/9`)).status, 404);
  assert.equal((await other.call(`/datasets/${result.dataset.id}`)).status, 404);
  assert.equal((await other.call(`/datasets/${result.dataset.id}/versions/${result.file.id}/preview`)).status, 404);
  assert.equal((await other.call(`/datasets/${result.dataset.id}`, { method: 'DELETE' })).status, 404);

  // A running job holds the dataset; once it is over the dataset can be deleted.
  const jobId = newId('job');
  await db().insert(schema.jobs).values({
    id: jobId,
    orgId,
    baseModel: 'lfm2-tiny',
    trainingFileId: result.file.id,
    hyperparameters: {},
    targetDevices: [],
    seed: 1,
    status: 'queued',
    workflowId: `fine-tune-${jobId}`,
  });
  const refused = await call(`/datasets/${result.dataset.id}`, { method: 'DELETE' });
  assert.equal(refused.status, 409);
  assert.match((await refused.json()).error.message, new RegExp(`${jobId}.*queued`));
  await db().update(schema.jobs).set({ status: 'cancelled' }).where(eq(schema.jobs.id, jobId));
  const del = await call(`/datasets/${result.dataset.id}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.deepEqual(await del.json(), { id: result.dataset.id, deleted: true, versions: 1, object: 'dataset' });
  const left = await leftovers(orgId);
  assert.deepEqual([left.datasets, left.objects, left.staged], [[], [], []]);

  // Aborting removes the staged bytes; a declared size over the limit is refused up front.
  const u2 = await (await call('/uploads', jsonBody({ filename: 'a.jsonl', size: 100 }))).json();
  const aborted = await call(`/uploads/${u2.id}`, { method: 'DELETE' });
  assert.equal((await aborted.json()).status, 'aborted');
  assert.equal((await call('/uploads', jsonBody({ filename: 'a.jsonl', size: 64 * 1024 ** 4 }))).status, 413);
  assert.equal((await call('/uploads', jsonBody({ filename: 'a.jsonl' }))).status, 400);
  assert.deepEqual((await leftovers(other.orgId)), nothingLeft);
});

test('REST: a 256 MB upload in chunks (generated on the fly, never held whole)', async () => {
  const { call, orgId } = await client('rest-large');
  // Fixed-width lines, so any byte range can be generated without the rest of the file.
  const line = (i: number) =>
    JSON.stringify({ messages: [{ role: 'user', content: `Question ${String(i).padStart(9, '0')}: ${'lorem ipsum '.repeat(20)}` }, { role: 'assistant', content: `Answer ${String(i).padStart(9, '0')}` }] }) + '\n';
  const width = line(0).length;
  const lines = Math.ceil((256 * 1024 * 1024) / width);
  const size = lines * width;
  const bytesAt = (start: number, end: number) => {
    const first = Math.floor(start / width);
    const last = Math.floor((end - 1) / width);
    let text = '';
    for (let i = first; i <= last; i++) text += line(i);
    return Buffer.from(text).subarray(start - first * width, end - first * width);
  };
  const u = await (await call('/uploads', jsonBody({ filename: 'large.jsonl', size }))).json();
  for (let start = 0; start < size; start += u.chunkSize) {
    const end = Math.min(size, start + u.chunkSize);
    const r = await call(`/uploads/${u.id}`, { method: 'PUT', body: bytesAt(start, end), headers: { 'content-range': `bytes ${start}-${end - 1}/${size}` } });
    assert.equal(r.status, 200, await r.clone().text());
  }
  const done = await call(`/uploads/${u.id}/complete`, { method: 'POST' });
  assert.equal(done.status, 200, await done.clone().text());
  const r = await done.json();
  assert.equal(r.file.examples, lines);
  assert.equal(r.file.bytes, size);
  assert.deepEqual((await leftovers(orgId)).staged, []);
});

test('OpenAPI documents every dataset and upload route', () => {
  const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
  let operations = 0;
  for (const [p, ops] of Object.entries(datasetPaths)) {
    assert.ok(doc.paths[p], p);
    operations += Object.keys(ops).length;
  }
  assert.equal(operations, datasetRoutes.length, 'one documented operation per route');
  const toPath = (re: RegExp) => re.source.replace(/^\^\\\//, '/').replace(/\$$/, '').replace(/\\\//g, '/');
  for (const r of datasetRoutes) {
    const shape = toPath(r.pattern).replace(/\(\[\^\/\]\+\)/g, '{}');
    const documented = Object.keys(datasetPaths).some((p) => p.replace(/\{[^}]+\}/g, '{}') === shape && (datasetPaths as Record<string, Record<string, unknown>>)[p][r.method.toLowerCase()]);
    assert.ok(documented, `${r.method} ${shape}`);
  }
});
