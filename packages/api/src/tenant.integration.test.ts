import './testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '@edgetune/contracts';
import { cancelJob, getJob, listJobEvents, listJobs } from './jobs/jobs';
import { deleteFile, fileContent, getFile, listFiles, uploadFile } from './datasets/files';
import { getModelVersion, listModelVersions, openVariantDownload } from './models/models';
import { handleRest } from './rest/handler';
import { bytes, goodJsonl, newOrg, seedPublishedModel, useDatabase } from './testing/fixtures';

useDatabase();

const notFound = (e: unknown) => e instanceof DomainError && e.code === 'not_found';

test("another organization's files, jobs and models are indistinguishable from missing ones", async () => {
  const a = await newOrg('tenant-a');
  const b = await newOrg('tenant-b');
  const file = await uploadFile(a.caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const model = await seedPublishedModel(a.orgId, file.id);

  // the owner sees everything
  assert.equal((await getFile(a.caller, file.id)).id, file.id);
  assert.equal((await getJob(a.caller, model.jobId)).version?.name, model.name);
  assert.equal((await getModelVersion(a.caller, model.name)).variants.length, 1);
  const dl = await openVariantDownload(a.caller, model.name, model.variantId, 'bytes=0-3');
  assert.equal(dl.range.kind, 'partial');
  dl.stream?.destroy();

  // the other org sees nothing, and gets the same error as for a made-up id
  await assert.rejects(getFile(b.caller, file.id), notFound);
  await assert.rejects(fileContent(b.caller, file.id), notFound);
  await assert.rejects(deleteFile(b.caller, file.id), notFound);
  await assert.rejects(getJob(b.caller, model.jobId), notFound);
  await assert.rejects(listJobEvents(b.caller, model.jobId), notFound);
  await assert.rejects(cancelJob(b.caller, model.jobId), notFound);
  await assert.rejects(getModelVersion(b.caller, model.name), notFound);
  await assert.rejects(getModelVersion(b.caller, model.versionId), notFound);
  await assert.rejects(openVariantDownload(b.caller, model.name, model.variantId), notFound);
  await assert.rejects(getFile(b.caller, 'file-doesnotexist'), notFound);
  assert.deepEqual((await listFiles(b.caller)).data, []);
  assert.deepEqual((await listJobs(b.caller)).data, []);
  assert.deepEqual(await listModelVersions(b.caller), []);
  await assert.rejects(listFiles(b.caller, { after: file.id }), notFound);

  // the same through HTTP: 404 for both a foreign and a missing id
  const foreign = await handleRest(new Request(`http://x/api/v1/files/${file.id}`), { sessionUserId: b.userId });
  const missing = await handleRest(new Request('http://x/api/v1/files/file-nope'), { sessionUserId: b.userId });
  assert.equal(foreign.status, 404);
  assert.equal(missing.status, 404);
  const dlRes = await handleRest(new Request(`http://x/api/v1/models/${encodeURIComponent(model.name)}/variants/${model.variantId}/download`), { sessionUserId: b.userId });
  assert.equal(dlRes.status, 404);
});
