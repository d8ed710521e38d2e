import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { bytes, goodJsonl, newOrg, seedPublishedModel, useDatabase } from '../testing/fixtures';
import { uploadFile } from '../datasets/files';
import { cancelJob, createJob, getJob, listJobEvents, listJobs } from './jobs';

useDatabase();

test('create validates model, file ownership, devices and hyperparameters before anything is written', async () => {
  const a = await newOrg('jobs-a');
  const b = await newOrg('jobs-b');
  const fa = await uploadFile(a.caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const fb = await uploadFile(b.caller, { filename: 'b.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const is = (code: string, param?: string, re?: RegExp) => (e: unknown) => {
    assert.ok(e instanceof DomainError, String(e));
    assert.equal(e.code, code, e.message);
    if (param) assert.equal(e.param, param, e.message);
    if (re) assert.match(e.message, re);
    return true;
  };
  await assert.rejects(createJob(a.caller, { model: 'gpt-4o', training_file: fa.id }), is('invalid_request', 'model', /gpt-4o/));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fb.id }), is('not_found', 'training_file'));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, validation_file: fb.id }), is('not_found', 'validation_file'));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, target_devices: ['toaster-9000'] }), is('invalid_request', 'target_devices', /toaster-9000/));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, hyperparameters: { n_epochs: 0 } }), is('invalid_request', 'hyperparameters.n_epochs'));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-2.6b', training_file: fa.id, hyperparameters: { method: 'full' } }), is('invalid_request'));
  await assert.rejects(createJob(a.caller, { training_file: fa.id }), is('invalid_request', 'model'));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, quantizations: ['Q3_K' as 'Q4_0'] }), is('invalid_request', 'quantizations.0', /F16.*IQ4_XS/));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, quantizations: [] }), is('invalid_request', 'quantizations'));
  // Budgets: each field named with what is wrong, unknown ones refused, per-target ones only for the job's targets.
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, budgets: { min_task_accuracy: 1.5 } }), is('invalid_request', 'budgets.min_task_accuracy'));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, budgets: { max_size_bytes: -1 } }), is('invalid_request', 'budgets.max_size_bytes'));
  await assert.rejects(createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, budgets: { max_size: 1 } as never }), is('invalid_request', 'budgets'));
  await assert.rejects(
    createJob(a.caller, { model: 'lfm2-tiny', training_file: fa.id, target_budgets: { 'x86_64-avx2': { max_kl_divergence: 'low' as never } } }),
    is('invalid_request', 'target_budgets.x86_64-avx2.max_kl_divergence'),
  );
  await assert.rejects(createJob({ ...a.caller, role: 'viewer' }, { model: 'lfm2-tiny', training_file: fa.id }), is('forbidden'));
  assert.equal((await db().select().from(schema.jobs).where(eq(schema.jobs.orgId, a.orgId))).length, 0);
});

test('list is newest first with a cursor; events ascend; a terminal job cannot be cancelled', async () => {
  const a = await newOrg('jobs-list');
  const f = await uploadFile(a.caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const m1 = await seedPublishedModel(a.orgId, f.id);
  await new Promise((r) => setTimeout(r, 5));
  const m2 = await seedPublishedModel(a.orgId, f.id);
  const page1 = await listJobs(a.caller, { limit: 1 });
  assert.deepEqual(page1.data.map((j) => j.id), [m2.jobId]);
  assert.equal(page1.hasMore, true);
  const page2 = await listJobs(a.caller, { limit: 1, after: m2.jobId });
  assert.deepEqual(page2.data.map((j) => j.id), [m1.jobId]);
  assert.equal(page2.hasMore, false);

  for (const [i, msg] of ['validating', 'training', 'done'].entries()) {
    await db().insert(schema.jobEvents).values({ id: `ftevent-${m1.jobId}-${i}`, orgId: a.orgId, jobId: m1.jobId, level: 'info', type: 'message', message: msg, dedupeKey: String(i) });
  }
  const ev = await listJobEvents(a.caller, m1.jobId, { limit: 2 });
  assert.deepEqual(ev.data.map((e) => e.message), ['validating', 'training']);
  assert.equal(ev.hasMore, true);
  const ev2 = await listJobEvents(a.caller, m1.jobId, { after: ev.data[1].id });
  assert.deepEqual(ev2.data.map((e) => e.message), ['done']);

  await db().insert(schema.jobStages).values({ jobId: m1.jobId, orgId: a.orgId, stage: 'train', state: 'succeeded', startedAt: new Date(Date.now() - 3000), finishedAt: new Date(), durationMs: 3000 });
  const d = await getJob(a.caller, m1.jobId);
  assert.equal(d.stages.length, 1);
  assert.equal(d.variants.length, 1);
  await assert.rejects(cancelJob(a.caller, m1.jobId), (e: DomainError) => e.code === 'conflict');
});
