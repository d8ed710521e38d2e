/** The orchestrator worker: fineTuneJob workflows and their database / storage activities. */
import { createRequire } from 'node:module';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createLogger, loadConfig } from '@edgetune/config';
import { closeDb } from '@edgetune/db';
import { taskQueues } from '@edgetune/temporal/queues';
import { installRuntimeLogger } from '@edgetune/temporal/runtime';
import * as activities from './activities/index';

const log = createLogger('orchestrator');
const config = loadConfig();
installRuntimeLogger(log);

const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
const require = createRequire(import.meta.url);
const worker = await Worker.create({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  taskQueue: taskQueues.orchestrator,
  workflowsPath: require.resolve('./workflows/index.ts'),
  activities,
  bundlerOptions: { ignoreModules: ['node:crypto', 'crypto'] },
});
log.info({ taskQueue: taskQueues.orchestrator, address: config.TEMPORAL_ADDRESS }, 'orchestrator worker started');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'shutting down');
    worker.shutdown();
  });
}
await worker.run();
await closeDb();
await connection.close();
log.info('orchestrator worker stopped');
