/**
 * The spending cap while a job runs: the owner lowers the cap after launch, and the real workflow
 * stops training at the trainer's next checkpoint, failing the job with the reason and metering
 * the tokens trained until then (not credited: the customer's cap, not the platform, stopped it).
 * The test stack prices lfm2-tiny (TRAINING_PRICES), so every token costs something.
 */
import { inProcessOpenAI, newOrg, useDatabase } from '@edgetune/api/testing';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { toFile } from 'openai';
import { and, eq } from 'drizzle-orm';
import { apiKeys, billing, jobs } from '@edgetune/api';
import { db, schema } from '@edgetune/db';
import { TRAIN } from './platform-client';

useDatabase();

test('a running job that reaches the spending cap stops at its next checkpoint, saying why', { timeout: 15 * 60_000 }, async () => {
  assert.ok(TRAIN, 'EDGETUNE_TEST_TRAIN_JSONL must be set by the test harness');
  const { caller, orgId } = await newOrg('cap');
  const { key } = await apiKeys.createApiKey(caller, { name: 'cap' });
  const ai = inProcessOpenAI(key);
  const file = await ai.files.create({ file: await toFile(readFileSync(TRAIN), 'train.jsonl'), purpose: 'fine-tune' });
  // Three epochs: the trainer saves a checkpoint at the end of each, so one comes before the end.
  const job = await ai.fineTuning.jobs.create({ model: 'lfm2-tiny', training_file: file.id, hyperparameters: { n_epochs: 3 } });
  // Launched under no cap; the owner then sets one the tokens of a single epoch already pass.
  await billing.setSpendingCap(caller, { monthly_cap: 0 });

  const deadline = Date.now() + 12 * 60_000;
  let row = await jobs.getJob(caller, job.id);
  while (!['failed', 'succeeded', 'cancelled'].includes(row.job.status)) {
    assert.ok(Date.now() < deadline, `job still ${row.job.status}`);
    await sleep(2000);
    row = await jobs.getJob(caller, job.id);
  }
  assert.equal(row.job.status, 'failed', JSON.stringify(row.job.error));
  assert.equal(row.job.error?.code, 'spending_cap_reached');
  assert.equal(row.job.error?.param, 'spending_cap');
  assert.match(row.job.error?.message ?? '', /^Stopped at the checkpoint of step \d+ \(its progress is saved\): the [\d,]+ tokens trained so far cost \$\d+\.\d\d, which with \$\d+\.\d\d spent this month reaches the monthly spending cap of \$0\.00\./);
  const step = Number(/step (\d+)/.exec(row.job.error!.message)![1]);
  const steps = row.job.result?.training as { steps?: number } | undefined;
  assert.equal(steps?.steps, undefined, 'training never finished');
  // The OpenAI view says the same.
  const seen = await ai.fineTuning.jobs.retrieve(job.id);
  assert.equal(seen.status, 'failed');
  assert.equal(seen.error?.code, 'spending_cap_reached');

  // The tokens trained until the checkpoint are metered; nothing is credited.
  const trained = row.job.trainedTokens ?? 0;
  assert.ok(trained > 0);
  const usage = await db().select().from(schema.usageRecords).where(and(eq(schema.usageRecords.jobId, job.id), eq(schema.usageRecords.kind, 'training_tokens')));
  assert.deepEqual(usage.map((u) => u.quantity), [trained]);
  const cost = await jobs.getJobCost(caller, job.id);
  assert.ok(cost.totalMinor > 0);
  assert.equal(cost.credit, null);
  // The step it stopped at is where an epoch ended, which is where the trainer saves a checkpoint.
  const events = await db().select().from(schema.jobEvents).where(and(eq(schema.jobEvents.jobId, job.id), eq(schema.jobEvents.orgId, orgId)));
  const total = events.map((e) => (e.data as { total_steps?: number } | null)?.total_steps).find((t) => typeof t === 'number');
  assert.ok(total && total % 3 === 0, `total steps ${total}`);
  assert.equal(step % (total / 3), 0, `step ${step} ends an epoch of ${total / 3} steps`);
  assert.ok(step < total);
});
