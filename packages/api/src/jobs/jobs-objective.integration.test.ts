import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { temporalClient } from '@edgetune/temporal';
import { pollDeviceQueue } from '../testing/device-poller';
import { bytes, goodJsonl, newOrg, useDatabase } from '../testing/fixtures';
import { uploadFile } from '../datasets/files';
import { createJob } from './jobs';

useDatabase();

const prefJsonl = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Route ticket ${i}: card charged twice`, chosen: 'billing', rejected: i % 2 ? 'login' : 'shipping' })).join('\n') + '\n';

const is = (param: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DomainError, String(e));
  assert.equal(e.code, 'invalid_request', e.message);
  assert.equal(e.param, param, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

test("a job's objective follows its files: both files the same kind, objective and beta must fit", async () => {
  const { caller, orgId } = await newOrg('objective');
  const chat = await uploadFile(caller, { filename: 'chat.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(4)) });
  const prefs = await uploadFile(caller, { filename: 'prefs.jsonl', purpose: 'fine-tune', body: bytes(prefJsonl(4)) });
  assert.equal(chat.format, 'chat');
  assert.equal(prefs.format, 'preference');

  const m = 'lfm2-tiny';
  await assert.rejects(createJob(caller, { model: m, training_file: prefs.id, validation_file: chat.id }), is('validation_file', /holds conversations.*preference pairs.*same kind/));
  await assert.rejects(createJob(caller, { model: m, training_file: chat.id, validation_file: prefs.id }), is('validation_file', /holds preference pairs.*same kind/));
  await assert.rejects(createJob(caller, { model: m, training_file: chat.id, hyperparameters: { objective: 'dpo' } }), is('hyperparameters.objective', /'dpo'.*needs a training file of preference pairs/));
  await assert.rejects(createJob(caller, { model: m, training_file: prefs.id, hyperparameters: { objective: 'sft' } }), is('hyperparameters.objective', /'sft'.*holds preference pairs/));
  await assert.rejects(createJob(caller, { model: m, training_file: chat.id, hyperparameters: { beta: 0.5 } }), is('hyperparameters.beta', /only applies to preference tuning/));
  await assert.rejects(createJob(caller, { model: m, training_file: prefs.id, hyperparameters: { beta: 0 } }), is('hyperparameters.beta', /greater than 0/));
  await assert.rejects(createJob(caller, { model: m, training_file: prefs.id, hyperparameters: { beta: 10.5 } }), is('hyperparameters.beta', /at most 10/));
  await assert.rejects(createJob(caller, { model: m, training_file: prefs.id, hyperparameters: { objective: 'ppo' as never } }), is('hyperparameters.objective'));
  assert.equal((await db().select().from(schema.jobs).where(eq(schema.jobs.orgId, orgId))).length, 0, 'nothing is written for a refused job');
});

test('a preference file makes a DPO job (default beta, DPO learning rate); a chat file an SFT job without beta', async () => {
  const { caller } = await newOrg('objective-ok');
  const chat = await uploadFile(caller, { filename: 'chat.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(4)) });
  const prefs = await uploadFile(caller, { filename: 'prefs.jsonl', purpose: 'fine-tune', body: bytes(prefJsonl(4)) });
  const poolId = `test-${randomBytes(4).toString('hex')}`;
  await db().insert(schema.pools).values({ id: poolId, kind: 'device', profiles: ['arm64-automotive'], fingerprint: { pool: poolId, hostname: 'test', os: 'linux', arch: 'aarch64', cpuModel: 'test cpu', cores: 1, isaFlags: [], memoryBytes: 1, llamaCppVersion: 'b0', profiles: ['arm64-automotive'] } });
  const client = await temporalClient();
  const started: string[] = [];
  try {
    await pollDeviceQueue(poolId);
    const target = { target_devices: ['arm64-automotive'] };
    const dpo = await createJob(caller, { model: 'lfm2-tiny', training_file: prefs.id, ...target, hyperparameters: { method: 'full' } });
    started.push(dpo.job.workflowId);
    assert.deepEqual(dpo.job.hyperparameters, { method: 'full', objective: 'dpo', beta: 0.1, n_epochs: 5, learning_rate: 2e-4, batch_size: 8, lora_rank: 16, lora_alpha: 32 });
    const tuned = await createJob(caller, { model: 'lfm2-tiny', training_file: prefs.id, validation_file: prefs.id, ...target, hyperparameters: { objective: 'dpo', beta: 0.3, method: 'full' } });
    started.push(tuned.job.workflowId);
    assert.equal((tuned.job.hyperparameters as { beta: number }).beta, 0.3);
    const sft = await createJob(caller, { model: 'lfm2-tiny', training_file: chat.id, ...target, hyperparameters: { method: 'full' } });
    started.push(sft.job.workflowId);
    assert.deepEqual(sft.job.hyperparameters, { method: 'full', objective: 'sft', n_epochs: 5, learning_rate: 5e-4, batch_size: 8, lora_rank: 16, lora_alpha: 32 });
  } finally {
    for (const w of started) await client.workflow.getHandle(w).terminate('test cleanup').catch(() => undefined);
    await db().delete(schema.pools).where(eq(schema.pools.id, poolId));
  }
});
