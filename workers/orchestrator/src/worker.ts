/** The orchestrator worker: fineTuneJob workflows and their database / storage activities. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger, loadConfig } from '@edgetune/config';
import { closeDb } from '@edgetune/db';
import { taskQueues } from '@edgetune/temporal/queues';
import { installRuntimeLogger } from '@edgetune/temporal/runtime';
import { reconcileJobs } from '@edgetune/api/pipeline';
import { orchestratorActivities } from './activities/registry';
import { workflowBundle } from './workflow-bundle';

const RECONCILE_EVERY_MS = 60_000;

const log = createLogger('orchestrator');
const config = loadConfig();
installRuntimeLogger(log);

const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const worker = await Worker.create({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: taskQueues.orchestrator,
  ...workflowBundle,
  activities: orchestratorActivities(),
});
log.info({ taskQueue: taskQueues.orchestrator, address: config.TEMPORAL_ADDRESS }, 'orchestrator worker started');

// Jobs whose launch or last status write a fault interrupted are set right every minute.
const reconcile = async () => {
  try {
    const r = await reconcileJobs();
    if (r.started || r.closed) log.warn(r, 'reconciled jobs with their workflows');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'reconciling jobs failed; will try again');
  }
};
const reconciler = setInterval(() => void reconcile(), RECONCILE_EVERY_MS);
void reconcile();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'shutting down');
    clearInterval(reconciler);
    worker.shutdown();
  });
}
await worker.run();
await closeDb();
await connection.close();
log.info('orchestrator worker stopped');
