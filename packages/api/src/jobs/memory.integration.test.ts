import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { estimateTrainingMemory, trainingMaxSeqLen, findBaseModel, jobSettings, type DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { createApiKey } from '../identity/api-keys';
import { handleRest } from '../rest/handler';
import { pollTrainingQueue } from '../testing/device-poller';
import { bytes, goodJsonl, newOrg, useDatabase } from '../testing/fixtures';
import { uploadFile } from '../datasets/files';
import { cancelJob, createJob } from './jobs';

useDatabase();

test("a job is planned against its training pool's memory: gradient checkpointing when only that fits, refused when nothing does", async () => {
  const { caller, orgId } = await newOrg('memory');
  const key = (await createApiKey(caller, { name: 'memory', scopes: ['train'] })).key;
  const f = await uploadFile(caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  // The boundaries from the estimator itself: what lfm2-tiny full fine-tuning needs with and without checkpointing.
  const settings = jobSettings('lfm2-tiny', { method: 'full', objective: 'sft' });
  const input = { modelId: 'lfm2-tiny', method: 'full' as const, objective: 'sft' as const, batchSize: settings.batch_size, loraRank: settings.lora_rank, seqLen: trainingMaxSeqLen(findBaseModel('lfm2-tiny')!) };
  const plain = estimateTrainingMemory({ ...input, gradientCheckpointing: false })!.peakBytes;
  const checkpointed = estimateTrainingMemory({ ...input, gradientCheckpointing: true })!.peakBytes;
  assert.ok(checkpointed < plain);

  const roomy = `roomy-${randomBytes(3).toString('hex')}`;
  const tight = `tight-${randomBytes(3).toString('hex')}`;
  const small = `small-${randomBytes(3).toString('hex')}`;
  await pollTrainingQueue(roomy, plain * 2);
  await pollTrainingQueue(tight, Math.round((plain + checkpointed) / 2));
  await pollTrainingQueue(small, checkpointed - 50 * 2 ** 20);
  const body = (pool: string) => ({ model: 'lfm2-tiny', training_file: f.id, target_devices: ['x86_64-avx2'], training_pool: pool, hyperparameters: { method: 'full' } });
  const estimate = async (pool: string) => {
    const res = await handleRest(new Request('http://edgetune.test/api/v1/jobs/estimate', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body(pool)) }), { sessionUserId: null });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  // Room to spare: no checkpointing, the pool's memory shown beside the estimate.
  const r1 = await estimate(roomy);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  assert.deepEqual(r1.body.memory, { peak_bytes: plain, gradient_checkpointing: false, pool_memory_bytes: plain * 2, training_pool: roomy });

  // Fits only with checkpointing: the plan switches it on, and the job keeps it for the trainer.
  const r2 = await estimate(tight);
  assert.equal(r2.body.memory.gradient_checkpointing, true);
  assert.equal(r2.body.memory.peak_bytes, checkpointed);
  const job = await createJob(caller, body(tight));
  const [row] = await db().select({ memoryPlan: schema.jobs.memoryPlan }).from(schema.jobs).where(eq(schema.jobs.id, job.job.id));
  assert.deepEqual(row.memoryPlan, { peakBytes: checkpointed, gradientCheckpointing: true, capacityBytes: Math.round((plain + checkpointed) / 2), pool: tight });
  await cancelJob(caller, job.job.id);

  // Fits nowhere: refused, naming the estimate and the pool, and nothing is created.
  const before = (await db().select({ id: schema.jobs.id }).from(schema.jobs).where(eq(schema.jobs.orgId, orgId))).length;
  const r3 = await estimate(small);
  assert.equal(r3.status, 400);
  assert.equal(r3.body.error.param, 'hyperparameters.batch_size');
  assert.match(r3.body.error.message, new RegExp(`needs about [\\d.]+ GiB of memory at its peak \\(lfm2-tiny full fine-tuning, batch size 8, sequence length 512\\), even with gradient checkpointing; the trainers of training pool '${small}' have [\\d.]+ GiB`));
  await assert.rejects(createJob(caller, body(small)), (e: DomainError) => e.param === 'hyperparameters.batch_size');
  assert.equal((await db().select({ id: schema.jobs.id }).from(schema.jobs).where(eq(schema.jobs.orgId, orgId))).length, before);

  // A pool whose trainers compute in bf16 is planned with the bf16 estimate (less memory).
  const bf16Pool = `bf16-${randomBytes(3).toString('hex')}`;
  await pollTrainingQueue(bf16Pool, plain * 2, true);
  const lora = { ...body(bf16Pool), hyperparameters: { method: 'lora' } };
  const res = await handleRest(new Request('http://edgetune.test/api/v1/jobs/estimate', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(lora) }), { sessionUserId: null });
  const loraSettings = jobSettings('lfm2-tiny', { method: 'lora', objective: 'sft' });
  const loraInput = { ...input, method: 'lora' as const, batchSize: loraSettings.batch_size, loraRank: loraSettings.lora_rank, gradientCheckpointing: false };
  const bf16Peak = estimateTrainingMemory({ ...loraInput, bf16: true })!.peakBytes;
  assert.ok(bf16Peak < estimateTrainingMemory(loraInput)!.peakBytes);
  assert.equal(((await res.json()) as { memory: { peak_bytes: number } }).memory.peak_bytes, bf16Peak);
});
