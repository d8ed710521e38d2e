/**
 * The plan reads a job's stored settings from the database and hands them on: rows the API
 * stores are complete and pass unchanged; rows stored before settings were stored whole are
 * completed by the catalog's function, the same one the API uses.
 */
import { newOrg, useDatabase } from '@edgetune/api/testing';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { jobSettings, newId, type StoredJobSettings } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { loadJobPlan, trainerSettings } from './plan';

useDatabase();

async function storedJob(orgId: string, baseModel: string, hyperparameters: StoredJobSettings, seed = 5): Promise<string> {
  const fileId = newId('file');
  await db().insert(schema.files).values({ id: fileId, orgId, filename: 'a.jsonl', purpose: 'fine-tune', bytes: 1, sha256: '0'.repeat(64), storageKey: `orgs/${orgId}/files/${fileId}`, examples: 1, stats: {} });
  const jobId = newId('job');
  // No target devices: the plan then needs no hardware pool.
  await db().insert(schema.jobs).values({ id: jobId, orgId, baseModel, trainingFileId: fileId, hyperparameters, targetDevices: [], seed, status: 'queued', workflowId: `wf-${jobId}` });
  return jobId;
}

test('complete stored settings reach the trainer unchanged; partial ones from older rows are completed by the catalog', async () => {
  const { orgId } = await newOrg('plan');
  const complete = { method: 'lora', objective: 'dpo', n_epochs: 7, learning_rate: 3.3e-4, batch_size: 3, lora_rank: 5, lora_alpha: 11, beta: 0.37 } as const;
  const a = await loadJobPlan({ orgId, jobId: await storedJob(orgId, 'lfm2-350m', complete, 17) });
  assert.deepEqual(a.hyperparameters, { method: 'lora', objective: 'dpo', epochs: 7, learningRate: 3.3e-4, batchSize: 3, loraRank: 5, loraAlpha: 11, beta: 0.37, maxSeqLen: 512, seed: 17, gradientCheckpointing: false });
  // The memory plan stored at launch decides gradient checkpointing.
  const planned = await storedJob(orgId, 'lfm2-350m', complete, 17);
  await db().update(schema.jobs).set({ memoryPlan: { peakBytes: 1, gradientCheckpointing: true, capacityBytes: 2, pool: 'local' } }).where(eq(schema.jobs.id, planned));
  assert.equal((await loadJobPlan({ orgId, jobId: planned })).hyperparameters.gradientCheckpointing, true);

  // A row from before preference tuning and before lora_alpha was stored.
  const legacy = { method: 'lora', n_epochs: 1, learning_rate: 2e-3, batch_size: 8, lora_rank: 16 } as const;
  const b = await loadJobPlan({ orgId, jobId: await storedJob(orgId, 'lfm2-tiny', legacy) });
  assert.deepEqual(b.hyperparameters, trainerSettings(jobSettings('lfm2-tiny', legacy), { maxSeqLen: 512, seed: 5 }));
  assert.equal(b.hyperparameters.objective, 'sft');
  assert.equal(b.hyperparameters.beta, undefined);

  const c = await loadJobPlan({ orgId, jobId: await storedJob(orgId, 'lfm2-tiny', {}) });
  assert.deepEqual(c.hyperparameters, trainerSettings(jobSettings('lfm2-tiny', {}), { maxSeqLen: 512, seed: 5 }));
});

test('a stored row with a malformed setting fails the plan with the field named', async () => {
  const { orgId } = await newOrg('plan-bad');
  const jobId = await storedJob(orgId, 'lfm2-tiny', { method: 'lora' });
  // Written past the column's type, as a hand edit or an old bug might have left it.
  await db()
    .update(schema.jobs)
    .set({ hyperparameters: sql`${JSON.stringify({ method: 'lora', n_epochs: 'three' })}::jsonb` })
    .where(eq(schema.jobs.id, jobId));
  await assert.rejects(loadJobPlan({ orgId, jobId }), /stored settings are invalid[\s\S]*n_epochs/);
});

test("each target measures its profile's candidates, narrowed to the job's quantizations in catalog order", async () => {
  const { orgId } = await newOrg('plan-quant');
  const poolId = newId('pool');
  await db().insert(schema.pools).values({ id: poolId, orgId, name: 'lab', kind: 'device', profiles: ['x86_64-avx2'] });
  const jobId = await storedJob(orgId, 'lfm2-tiny', {});
  await db().update(schema.jobs).set({ targetDevices: ['x86_64-avx2'], targetPools: [poolId] }).where(eq(schema.jobs.id, jobId));
  const all = await loadJobPlan({ orgId, jobId });
  assert.deepEqual(all.targets.map((t) => t.quantizations), [['F16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0', 'IQ4_XS']]);
  await db().update(schema.jobs).set({ quantizations: ['IQ4_XS', 'F16', 'Q4_K_M'] }).where(eq(schema.jobs.id, jobId));
  const narrowed = await loadJobPlan({ orgId, jobId });
  assert.deepEqual(narrowed.targets.map((t) => [t.device, t.pool, t.quantizations]), [['x86_64-avx2', poolId, ['F16', 'Q4_K_M', 'IQ4_XS']]]);
});

test("each target's budgets: the profile's defaults, then the job's, then the target's own", async () => {
  const { orgId } = await newOrg('plan-budgets');
  const poolId = newId('pool');
  await db().insert(schema.pools).values({ id: poolId, orgId, name: 'lab', kind: 'device', profiles: ['x86_64-avx2', 'arm64-phone'] });
  const jobId = await storedJob(orgId, 'lfm2-tiny', {});
  await db().update(schema.jobs).set({ targetDevices: ['x86_64-avx2', 'arm64-phone'], targetPools: [poolId] }).where(eq(schema.jobs.id, jobId));
  const GiB = 1024 ** 3;
  const defaults = await loadJobPlan({ orgId, jobId });
  assert.deepEqual(defaults.targets.map((t) => [t.device, t.budgets]), [
    ['x86_64-avx2', { max_size_bytes: 4 * GiB, max_peak_rss_bytes: 6 * GiB }],
    ['arm64-phone', { max_size_bytes: 1 * GiB, max_peak_rss_bytes: 1.5 * GiB }],
  ]);
  await db()
    .update(schema.jobs)
    .set({ budgets: { all: { max_size_bytes: 5e6, min_task_accuracy: 0.8 }, targets: { 'arm64-phone': { max_size_bytes: 3e6, max_kl_divergence: 0.05 } } } })
    .where(eq(schema.jobs.id, jobId));
  const set = await loadJobPlan({ orgId, jobId });
  assert.deepEqual(set.targets.map((t) => [t.device, t.budgets]), [
    ['x86_64-avx2', { max_size_bytes: 5e6, max_peak_rss_bytes: 6 * GiB, min_task_accuracy: 0.8 }],
    ['arm64-phone', { max_size_bytes: 3e6, max_peak_rss_bytes: 1.5 * GiB, min_task_accuracy: 0.8, max_kl_divergence: 0.05 }],
  ]);
});
