/** The orchestrator worker: fineTuneJob workflows and their database / storage activities. */
import { createRequire } from 'node:module';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '@edgetune/config';
import { closeDb } from '@edgetune/db';
import { taskQueues } from '@edgetune/temporal/queues';
import * as activities from './activities/index';

const log = pino({ name: 'orchestrator', base: { component: 'orchestrator' } });
const config = loadConfig();

Runtime.install({
  logger: {
    log: (level, message, meta) => log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')]({ ...meta }, message),
    trace: (m, meta) => log.trace(meta ?? {}, m),
    debug: (m, meta) => log.debug(meta ?? {}, m),
    info: (m, meta) => log.info(meta ?? {}, m),
    warn: (m, meta) => log.warn(meta ?? {}, m),
    error: (m, meta) => log.error(meta ?? {}, m),
  },
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
});

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
