/**
 * The device agent: a Temporal worker for one hardware pool (queue device.<DEVICE_POOL>) that
 * quantizes and benchmarks on this machine, and registers the pool's fingerprint with the
 * orchestrator at start and every 60 s.
 *
 *   npx tsx workers/device-agent/src/worker.ts
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '@edgetune/config';
import { temporalClient, temporalConnectionOptions } from '@edgetune/temporal';
import { taskQueues, workflowIds, workflowTypes, type RegisterPoolInput } from '@edgetune/temporal/queues';
import { installRuntimeLogger } from '@edgetune/temporal/runtime';
import { activities } from './activities';
import { fingerprint } from './fingerprint';
import { log } from './log';

const REGISTER_EVERY_MS = 60_000;

async function registerPool(client: Client, input: RegisterPoolInput): Promise<void> {
  const pool = input.fingerprint.pool;
  try {
    await client.workflow.start(workflowTypes.registerPool, {
      taskQueue: taskQueues.orchestrator,
      workflowId: workflowIds.registerPool(pool),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    log.info({ pool, profiles: input.fingerprint.profiles }, 'pool registered');
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) return;
    log.warn({ pool, err: e }, 'pool registration failed (will retry)');
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const fp = fingerprint(); // fails at start on a bad DEVICE_PROFILES
  const taskQueue = taskQueues.device(config.DEVICE_POOL);
  log.info({ taskQueue, fingerprint: fp }, 'device agent starting');
  if (fp.llamaCppVersion === 'unknown') log.warn({ dir: config.LLAMA_CPP_DIR }, 'llama.cpp tools not built: run bash infra/llama-cpp.sh');
  if (fp.profiles.length === 0) log.warn({ arch: fp.arch }, 'this machine serves no device profile of the catalog');

  installRuntimeLogger(log);

  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    activities,
    // One measurement at a time: concurrent quantize/benchmark runs would distort each other.
    maxConcurrentActivityTaskExecutions: 1,
    shutdownGraceTime: '10s',
    // Cancellation reaches an activity only in a heartbeat response: keep that latency to seconds.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '3s',
  });

  const client = await temporalClient();
  const register = () => registerPool(client, { fingerprint: fp });
  void register();
  const timer = setInterval(() => void register(), REGISTER_EVERY_MS);

  const stop = (sig: string) => {
    log.info({ signal: sig }, 'shutting down');
    clearInterval(timer);
    worker.shutdown();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  await worker.run();
  await client.connection.close();
  await connection.close();
  log.info({}, 'device agent stopped');
}

main().catch((e) => {
  log.fatal({ err: e }, 'device agent failed');
  process.exit(1);
});
