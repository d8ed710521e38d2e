import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { taskQueues, temporalClient, workflowIds, workflowTypes } from '@edgetune/temporal';
import { healthCheck } from '../health';
import { pollDeviceQueue } from '../testing/device-poller';
import { bytes, goodJsonl, newOrg, useDatabase } from '../testing/fixtures';
import { listDevices } from '../devices/devices';
import { uploadFile } from '../datasets/files';
import { cancelJob, createJob } from './jobs';

useDatabase();

test('create starts the workflow on the orchestrator queue; cancel requests cancellation', async () => {
  const { caller, orgId } = await newOrg('temporal');
  const f = await uploadFile(caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const poolId = `test-${randomBytes(4).toString('hex')}`;

  // a device that no online pool serves → clear error, no row
  await assert.rejects(createJob(caller, { model: 'lfm2-tiny', training_file: f.id, target_devices: ['arm64-automotive'] }), (e: DomainError) => {
    return e.param === 'target_devices' && /No online hardware pool/.test(e.message);
  });

  await db().insert(schema.pools).values({ id: poolId, kind: 'device', profiles: ['arm64-automotive'], fingerprint: { pool: poolId, hostname: 'test', os: 'linux', arch: 'aarch64', cpuModel: 'test cpu', cores: 1, isaFlags: [], memoryBytes: 1, llamaCppVersion: 'b0', profiles: ['arm64-automotive'] } });
  try {
    await pollDeviceQueue(poolId);
    const devices = await listDevices();
    assert.ok(devices.find((d) => d.id === 'arm64-automotive')?.pools.includes(poolId));

    const d = await createJob(caller, {
      model: 'lfm2-tiny',
      training_file: f.id,
      target_devices: ['arm64-automotive'],
      hyperparameters: { method: 'full' },
      seed: 7,
      quantizations: ['Q4_0', 'F16', 'Q4_0'],
      budgets: { max_size_bytes: 5_000_000, min_task_accuracy: 0.5 },
      target_budgets: { 'arm64-automotive': { max_kl_divergence: 0.1 } },
    });
    assert.deepEqual(d.job.quantizations, ['F16', 'Q4_0'], 'stored once each, in catalog order');
    assert.deepEqual(d.job.budgets, { all: { max_size_bytes: 5_000_000, min_task_accuracy: 0.5 }, targets: { 'arm64-automotive': { max_kl_divergence: 0.1 } } });
    // Per-target budgets name a target of the job.
    await assert.rejects(
      createJob(caller, { model: 'lfm2-tiny', training_file: f.id, target_devices: ['arm64-automotive'], target_budgets: { 'arm64-phone': { max_size_bytes: 1 } } }),
      (e: DomainError) => e.code === 'invalid_request' && e.param === 'target_budgets.arm64-phone' && /not a target device of this job \(its targets: arm64-automotive\)/.test(e.message),
    );
    assert.match(d.job.id, /^ftjob-/);
    assert.equal(d.job.status, 'validating_files');
    assert.equal(d.job.workflowId, workflowIds.fineTuneJob(d.job.id));
    assert.equal(d.job.seed, 7);
    assert.deepEqual(d.job.hyperparameters, { method: 'full', objective: 'sft', n_epochs: 5, learning_rate: 5e-4, batch_size: 8, lora_rank: 16, lora_alpha: 32 });
    const client = await temporalClient();
    const desc = await client.workflow.getHandle(d.job.workflowId).describe();
    assert.equal(desc.type, workflowTypes.fineTuneJob);
    assert.equal(desc.taskQueue, taskQueues.orchestrator);

    await cancelJob(caller, d.job.id);
    const after = await client.workflow.getHandle(d.job.workflowId).describe();
    assert.ok(['CANCELLED', 'RUNNING'].includes(after.status.name));
    await client.workflow.getHandle(d.job.workflowId).terminate('test cleanup').catch(() => undefined);
    const [row] = await db().select().from(schema.jobs).where(eq(schema.jobs.orgId, orgId));
    assert.equal(row.id, d.job.id);
    const audited = await db().select().from(schema.auditEvents).where(eq(schema.auditEvents.orgId, orgId));
    for (const action of ['job.created', 'job.cancelled']) assert.ok(audited.some((e) => e.action === action && e.targetId === d.job.id), `${action} audited`);
  } finally {
    await db().delete(schema.pools).where(eq(schema.pools.id, poolId));
  }
});

test('health reports every component with a status', async () => {
  const h = await healthCheck();
  assert.ok(['ok', 'error'].includes(h.status));
  assert.equal(h.components.database.status, 'ok');
  assert.equal(h.components.temporal.status, 'ok');
  assert.equal(h.components.storage.status, 'ok');
  for (const w of ['orchestrator', 'trainer', 'device_agent'] as const) assert.ok(['ok', 'error'].includes(h.components.workers[w].status));
});
