import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import OpenAI, { toFile } from 'openai';
import { createApiKey } from '../identity/api-keys';
import { zstdFrame } from '../testing/datasets';
import { goodJsonl, goodLine, newOrg, seedPublishedModel, useDatabase } from '../testing/fixtures';
import { inProcessOpenAI } from '../testing/openai-client';

useDatabase();

test('the openai client uploads, lists, reads and deletes files', async () => {
  const { caller, orgId } = await newOrg('oai');
  const { key } = await createApiKey(caller, { name: 'sdk' });
  const ai = inProcessOpenAI(key);
  const text = goodJsonl(4);
  const f = await ai.files.create({ file: await toFile(Buffer.from(text), 'train.jsonl'), purpose: 'fine-tune' });
  assert.match(f.id, /^file-/);
  assert.equal(f.object, 'file');
  assert.equal(f.bytes, Buffer.byteLength(text));
  assert.equal(f.filename, 'train.jsonl');
  assert.equal((await ai.files.retrieve(f.id)).id, f.id);
  const list = await ai.files.list();
  assert.deepEqual(list.data.map((x) => x.id), [f.id]);
  assert.equal(await (await ai.files.content(f.id)).text(), text);

  const model = await seedPublishedModel(orgId, f.id);
  const models = await ai.models.list();
  const ids = models.data.map((m) => m.id);
  assert.ok(ids.includes('lfm2-tiny'));
  assert.ok(ids.includes(model.name));
  assert.equal((await ai.models.retrieve(model.name)).id, model.name);

  const job = await ai.fineTuning.jobs.retrieve(model.jobId);
  assert.equal(job.object, 'fine_tuning.job');
  assert.equal(job.status, 'succeeded');
  assert.equal(job.fine_tuned_model, model.name);
  const jobs = await ai.fineTuning.jobs.list({ limit: 10 });
  assert.deepEqual(jobs.data.map((j) => j.id), [model.jobId]);
  const events = await ai.fineTuning.jobs.listEvents(model.jobId);
  assert.deepEqual(events.data, []);
  const ckpts = await ai.fineTuning.jobs.checkpoints.list(model.jobId);
  assert.equal(ckpts.data.length, 1);
  await assert.rejects(ai.fineTuning.jobs.cancel(model.jobId), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 409);
  // The job has finished: its file may go; the job keeps naming it, the file itself is gone.
  assert.equal((await ai.files.delete(f.id)).deleted, true);
  await assert.rejects(ai.files.retrieve(f.id), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404);
  assert.deepEqual((await ai.files.list()).data, []);
  assert.equal((await ai.fineTuning.jobs.retrieve(model.jobId)).training_file, f.id);
});

test('a malformed file is a 400 naming the line; bad keys are 401; unknown ids 404', async () => {
  const { caller } = await newOrg('oai-err');
  const { key } = await createApiKey(caller, { name: 'sdk' });
  const ai = inProcessOpenAI(key);
  const bad = `${goodLine(1)}\n{"messages": "nope"}\n`;
  await assert.rejects(ai.files.create({ file: await toFile(Buffer.from(bad), 'bad.jsonl'), purpose: 'fine-tune' }), (e: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(e.status, 400);
    assert.match(e.message, /Line 2/);
    return true;
  });
  assert.deepEqual((await ai.files.list()).data, []);
  await assert.rejects(inProcessOpenAI('et_AAAAAAAAAAAA_' + 'A'.repeat(32)).files.list(), (e: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    return true;
  });
  await assert.rejects(ai.fineTuning.jobs.retrieve('ftjob-missing'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404);
  await assert.rejects(ai.models.retrieve('ft:nothing'), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404);
  await assert.rejects(
    ai.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: 'file-x' }),
    (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && /gpt-4o-mini/.test(e.message),
  );
});

test('the openai client uploads gzip and zstd files; content is the decompressed JSONL', async () => {
  const { caller } = await newOrg('oai-compressed');
  const { key } = await createApiKey(caller, { name: 'sdk' });
  const ai = inProcessOpenAI(key);
  const text = goodJsonl(6);
  const gz = gzipSync(text);
  const g = await ai.files.create({ file: await toFile(gz, 'train.jsonl.gz'), purpose: 'fine-tune' });
  assert.equal(g.bytes, gz.length);
  assert.equal(g.filename, 'train.jsonl.gz');
  assert.equal(await (await ai.files.content(g.id)).text(), text);

  const zst = zstdFrame(Buffer.from(goodJsonl(9)));
  const z = await ai.files.create({ file: await toFile(zst, 'more.jsonl.zst'), purpose: 'fine-tune' });
  assert.equal(z.bytes, zst.length);
  assert.equal(await (await ai.files.content(z.id)).text(), goodJsonl(9));
  // The same bytes again: the same file.
  assert.equal((await ai.files.create({ file: await toFile(zst, 'more.jsonl.zst'), purpose: 'fine-tune' })).id, z.id);

  await assert.rejects(ai.files.create({ file: await toFile(gz.subarray(0, gz.length - 8), 'cut.jsonl.gz'), purpose: 'fine-tune' }), (e: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, 'invalid_file_format');
    assert.match(e.message, /gzip/);
    return true;
  });
  assert.deepEqual((await ai.files.list()).data.map((f) => f.id).sort(), [g.id, z.id].sort());
});

test('a file with a non-ASCII name downloads, with the name in RFC 8187 form', async () => {
  const { caller } = await newOrg('oai-utf8');
  const { key } = await createApiKey(caller, { name: 'sdk' });
  const ai = inProcessOpenAI(key);
  const text = goodJsonl(3);
  const f = await ai.files.create({ file: await toFile(Buffer.from(text), '数据 "q".jsonl'), purpose: 'fine-tune' });
  assert.equal(f.filename, '数据 "q".jsonl');
  const r = await ai.files.content(f.id);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), text);
  const cd = r.headers.get('content-disposition')!;
  assert.match(cd, /^attachment; filename="\?\? \\"q\\"\.jsonl"; filename\*=UTF-8''%E6%95%B0%E6%8D%AE%20%22q%22\.jsonl$/);
});
