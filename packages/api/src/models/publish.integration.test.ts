import '../testing/env';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import type { BenchmarkOutput } from '@edgetune/temporal';
import { newOrg, useDatabase } from '../testing/fixtures';
import { publishVersion } from './publish';
import { buffer } from 'node:stream/consumers';

useDatabase();

test('publishing a version records model.published in the audit log, attributed to whoever launched the job', async () => {
  const { orgId, userId, email } = await newOrg('publish');
  const fileId = newId('file');
  await db().insert(schema.files).values({ id: fileId, orgId, filename: 'a.jsonl', purpose: 'fine-tune', bytes: 1, sha256: '0'.repeat(64), storageKey: `orgs/${orgId}/files/${fileId}`, examples: 1, stats: {} });
  const jobId = newId('job');
  await db().insert(schema.jobs).values({
    id: jobId, orgId, createdBy: userId, baseModel: 'lfm2-tiny', trainingFileId: fileId, hyperparameters: {}, targetDevices: ['x86_64-avx2'], seed: 1, status: 'running', workflowId: `wf-${jobId}`,
  } as typeof schema.jobs.$inferInsert);
  // A candidate file as the quantize step leaves it (content is irrelevant to publishing).
  const content = Buffer.from('GGUF test candidate');
  const key = `orgs/${orgId}/jobs/${jobId}/q8.gguf`;
  await storage().put(key, content);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const fingerprint = { pool: 'local', hostname: 'h', os: 'linux', arch: 'x64', cpuModel: 'test cpu', cores: 2, isaFlags: [], memoryBytes: 1, llamaCppVersion: 'b0', profiles: ['x86_64-avx2'] };
  const benchmark: BenchmarkOutput = {
    prefillTokensPerSecond: 1, decodeTokensPerSecond: 1, prefillStdev: 0, decodeStdev: 0, timeToFirstTokenMs: 1, peakRssBytes: 1, sizeBytes: content.length, taskAccuracy: 0, evalExamples: 1, threads: 1, repetitions: 1, fingerprint,
  };
  const out = await publishVersion({
    jobId, orgId, llamaCppVersion: 'b0', createdAt: Date.now(),
    evaluation: { loss: 1, tokenAccuracy: 0, taskAccuracy: 0, baseTaskAccuracy: 0, examples: 1 },
    devices: [{ device: 'x86_64-avx2', pool: 'local', selected: 'Q8_0', candidates: [{ quantization: 'Q8_0', key, sizeBytes: content.length, sha256, benchmark }] }],
  });
  const events = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.orgId, orgId), eq(schema.auditEvents.action, 'model.published')));
  assert.equal(events.length, 1);
  assert.equal(events[0].targetId, out.versionId);
  assert.equal(events[0].actorUserId, userId);
  assert.equal(events[0].actorLabel, email);
  assert.deepEqual(events[0].data, { name: out.name, version: out.version, jobId, variants: 1 });
  // Publishing is idempotent: a retried activity records nothing new.
  await publishVersion({ jobId, orgId, llamaCppVersion: 'b0', createdAt: Date.now(), evaluation: { loss: 1, tokenAccuracy: 0, taskAccuracy: 0, baseTaskAccuracy: 0, examples: 1 }, devices: [] });
  assert.equal((await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.orgId, orgId), eq(schema.auditEvents.action, 'model.published')))).length, 1);
});

test('concurrent publishes of one organization and base model get distinct version numbers', async () => {
  const { orgId, userId } = await newOrg('publish-race');
  const fileId = newId('file');
  await db().insert(schema.files).values({ id: fileId, orgId, filename: 'a.jsonl', purpose: 'fine-tune', bytes: 1, sha256: '0'.repeat(64), storageKey: `orgs/${orgId}/files/${fileId}`, examples: 1, stats: {} });
  const jobs = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const jobId = newId('job');
      await db().insert(schema.jobs).values({
        id: jobId, orgId, createdBy: userId, baseModel: 'lfm2-tiny', trainingFileId: fileId, hyperparameters: {}, targetDevices: ['x86_64-avx2'], seed: 1, status: 'running', workflowId: `wf-${jobId}`,
      } as typeof schema.jobs.$inferInsert);
      return jobId;
    }),
  );
  const evaluation = { loss: 1, tokenAccuracy: 0, taskAccuracy: 0, baseTaskAccuracy: 0, examples: 1 };
  const outs = await Promise.all(jobs.map((jobId) => publishVersion({ jobId, orgId, llamaCppVersion: 'b0', createdAt: Date.now(), evaluation, devices: [] })));
  assert.deepEqual(outs.map((o) => o.version).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6]);
  for (const o of outs) {
    const manifest = JSON.parse((await buffer(await storage().get(o.manifestKey))).toString('utf8')) as { version: number };
    assert.equal(manifest.version, o.version, 'the signed manifest carries the number the row got');
  }
});
