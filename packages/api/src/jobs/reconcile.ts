/**
 * Makes the jobs table agree with Temporal after faults the workflow itself cannot record:
 *   - the platform stopped between inserting a job and starting its workflow: the workflow is
 *     started now (the same id, so a start that did happen is never doubled);
 *   - the workflow ended while the database was unreachable (its last status write failed): the
 *     job takes the workflow's outcome, with a reason that names the fault.
 * The orchestrator worker runs it periodically; it is idempotent and safe to run anywhere.
 */
import { and, eq, lt, notInArray } from 'drizzle-orm';
import { WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import { terminalStatuses, type JobStatus } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { taskQueues, temporalClient, workflowTypes, type FineTuneJobInput } from '@edgetune/temporal';
import { recordEvents, setJobStatus } from './records';

export interface ReconcileReport {
  checked: number;
  started: number;
  closed: number;
}

/** How long a job may exist without its workflow before it counts as orphaned (a start in flight is not). */
const ORPHAN_AFTER_MS = 60_000;

async function describe(workflowId: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await (await temporalClient()).workflow.getHandle(workflowId).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return null;
    throw e;
  }
}

/** Why the workflow ended, as its failure says (empty when it has none). */
async function failureOf(workflowId: string): Promise<string> {
  try {
    await (await temporalClient()).workflow.getHandle(workflowId).result();
    return '';
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause;
    return cause?.message ?? (e as Error).message ?? '';
  }
}

export async function reconcileJobs(now = Date.now()): Promise<ReconcileReport> {
  const open = await db()
    .select({ id: schema.jobs.id, orgId: schema.jobs.orgId, workflowId: schema.jobs.workflowId })
    .from(schema.jobs)
    .where(and(notInArray(schema.jobs.status, [...terminalStatuses]), lt(schema.jobs.createdAt, new Date(now - ORPHAN_AFTER_MS))));
  const report: ReconcileReport = { checked: open.length, started: 0, closed: 0 };
  for (const job of open) {
    const ref = { jobId: job.id, orgId: job.orgId };
    const d = await describe(job.workflowId);
    if (!d) {
      const args: [FineTuneJobInput] = [ref];
      await (await temporalClient()).workflow
        .start(workflowTypes.fineTuneJob, { taskQueue: taskQueues.orchestrator, workflowId: job.workflowId, args })
        .catch((e: Error) => {
          if (e.name !== 'WorkflowExecutionAlreadyStartedError') throw e;
        });
      await recordEvents(ref, [{ level: 'warn', message: 'The platform stopped while launching this job; it was started again.', dedupeKey: 'reconcile:started' }]);
      report.started++;
      continue;
    }
    const state = d.status.name;
    if (state === 'RUNNING' || state === 'CONTINUED_AS_NEW') continue;
    const at = (d.closeTime ?? new Date(now)).getTime();
    let status: JobStatus;
    let message: string;
    if (state === 'CANCELLED') {
      status = 'cancelled';
      message = 'The job was cancelled; the platform recorded it late because the database was unreachable when it ended.';
    } else if (state === 'COMPLETED') {
      const [version] = await db().select({ name: schema.modelVersions.name }).from(schema.modelVersions).where(eq(schema.modelVersions.jobId, job.id)).limit(1);
      if (version) {
        await setJobStatus({ ...ref, status: 'succeeded', fineTunedModel: version.name, error: null, at });
        report.closed++;
        continue;
      }
      status = 'failed';
      message = 'The job ended without publishing a model while the database was unreachable.';
    } else {
      const why = state === 'FAILED' ? await failureOf(job.workflowId) : '';
      status = 'failed';
      message = `The job's workflow ended (${state.toLowerCase().replace('_', ' ')}) while the database was unreachable${why ? `: ${why}` : ''}.`;
    }
    await setJobStatus({ ...ref, status, error: status === 'failed' ? { code: 'internal_error', message, param: null } : null, at });
    await recordEvents(ref, [{ level: status === 'failed' ? 'error' : 'info', message, dedupeKey: 'reconcile:closed' }]);
    report.closed++;
  }
  return report;
}
