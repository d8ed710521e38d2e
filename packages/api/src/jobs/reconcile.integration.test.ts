import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { describeJobEvent, newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { taskQueues, temporalClient, workflowIds, workflowTypes } from '@edgetune/temporal';
import { newOrg, useDatabase } from '../testing/fixtures';
import { reconcileJobs } from './reconcile';

useDatabase();

async function jobRow(tag: string) {
  const { orgId, userId } = await newOrg(tag);
  const fileId = newId('file');
  await db().insert(schema.files).values({ id: fileId, orgId, filename: 'a.jsonl', purpose: 'fine-tune', bytes: 1, sha256: '0'.repeat(64), storageKey: `orgs/${orgId}/files/${fileId}`, examples: 1, stats: {} });
  const id = newId('job');
  const workflowId = workflowIds.fineTuneJob(id);
  await db().insert(schema.jobs).values({
    id, orgId, createdBy: userId, baseModel: 'lfm2-tiny', trainingFileId: fileId, hyperparameters: {}, targetDevices: ['x86_64-avx2'], seed: 1,
    status: 'validating_files', workflowId, createdAt: new Date(Date.now() - 5 * 60_000),
  } as typeof schema.jobs.$inferInsert);
  return { id, orgId, workflowId };
}

const jobOf = async (id: string) => (await db().select().from(schema.jobs).where(eq(schema.jobs.id, id)))[0];

test('a job whose workflow never started (crash between insert and start) is started by the reconciler', async () => {
  const job = await jobRow('reconcile-orphan');
  const client = await temporalClient();
  const r = await reconcileJobs();
  assert.ok(r.started >= 1);
  const d = await client.workflow.getHandle(job.workflowId).describe();
  assert.equal(d.type, workflowTypes.fineTuneJob);
  await client.workflow.getHandle(job.workflowId).terminate('test over');
  await reconcileJobs();
  // Either the workflow recorded its own end before the terminate, or the reconciler recorded it.
  assert.ok(['failed', 'cancelled'].includes((await jobOf(job.id)).status));
  assert.equal((await client.workflow.getHandle(job.workflowId).describe()).runId, d.runId, 'never started twice');
  const events = await db().select().from(schema.jobEvents).where(eq(schema.jobEvents.jobId, job.id));
  assert.ok(events.some((e) => /started again/.test(describeJobEvent(e))));
});

test('a workflow that ended while the database said running: the job takes its outcome with the reason', async () => {
  const job = await jobRow('reconcile-closed');
  const client = await temporalClient();
  await client.workflow.start(workflowTypes.fineTuneJob, { taskQueue: `${taskQueues.orchestrator}-nobody-polls`, workflowId: job.workflowId, args: [{ jobId: job.id, orgId: job.orgId }] });
  await client.workflow.getHandle(job.workflowId).terminate('the database was down');
  assert.equal((await jobOf(job.id)).status, 'validating_files', 'the database still says running');
  await reconcileJobs();
  const after = await jobOf(job.id);
  assert.equal(after.status, 'failed');
  assert.match(after.error?.message ?? '', /ended \(terminated\) while the database was unreachable/);
  assert.ok(after.finishedAt);
  await reconcileJobs();
  assert.equal((await db().select().from(schema.jobEvents).where(eq(schema.jobEvents.jobId, job.id))).length, 1, 'reconciling again changes nothing');
});
