/** The orchestrator worker: fineTuneJob workflows and their database / storage activities. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger, loadConfig } from '@edgetune/config';
import { closeDb } from '@edgetune/db';
import { temporalConnectionOptions } from '@edgetune/temporal';
import { taskQueues } from '@edgetune/temporal/queues';
import { installRuntimeLogger } from '@edgetune/temporal/runtime';
import { advanceDueRollouts, keepPoolTasks, pruneFinishedPoolTasks, reconcileJobs, settleBilling } from '@edgetune/api/pipeline';
import { orchestratorActivities } from './activities/registry';
import { workflowBundle } from './workflow-bundle';

const RECONCILE_EVERY_MS = 60_000;
/** Well inside the pool activities' one-minute heartbeat timeout. */
const KEEP_POOL_TASKS_EVERY_MS = 10_000;

const log = createLogger('orchestrator');
const config = loadConfig();
installRuntimeLogger(log);

const connection = await NativeConnection.connect(temporalConnectionOptions(config));
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

// Organization pool tasks no agent has taken yet: kept alive, or failed with the reason after the wait;
// and fleet rollouts due to advance.
let keeping = false;
const keep = async () => {
  if (keeping) return;
  keeping = true;
  try {
    const t = await keepPoolTasks();
    if (t.failed || t.gone) log.warn(t, 'pool tasks ended while waiting for an agent');
    // Fleet rollouts whose soak time is over move to their next step when the step is healthy.
    const advanced = await advanceDueRollouts();
    if (advanced) log.info({ advanced }, 'advanced fleet rollouts after their soak time');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'keeping pool tasks or rollouts failed; will try again');
  } finally {
    keeping = false;
  }
};
const keeper = setInterval(() => void keep(), KEEP_POOL_TASKS_EVERY_MS);
// Usage on its way to Stripe (meter events), daily usage and credits; a no-op with billing off.
let settling = false;
const settle = async () => {
  if (settling) return;
  settling = true;
  try {
    const r = await settleBilling();
    if (r.reported || r.failed || r.daily || r.credits) log.info(r, 'settled billing');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'settling billing failed; will try again');
  } finally {
    settling = false;
  }
};
const settler = setInterval(() => void settle(), 60_000);
const pruner = setInterval(() => void pruneFinishedPoolTasks().catch((err) => log.error({ err: (err as Error).message }, 'pruning pool tasks failed')), 3_600_000);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'shutting down');
    clearInterval(reconciler);
    clearInterval(keeper);
    clearInterval(pruner);
    clearInterval(settler);
    worker.shutdown();
  });
}
await worker.run();
await closeDb();
await connection.close();
log.info('orchestrator worker stopped');
