import { after } from 'node:test';
import { loadConfig } from '@edgetune/config';
import { taskQueues, temporalClient } from '@edgetune/temporal';
import { describePollers, listPools } from '../devices/devices';

const controllers: AbortController[] = [];
after(() => controllers.forEach((c) => c.abort()));

/** A real long poll on `queue` with `identity`, aborted when the test file ends. */
async function pollQueue(queue: string, identity: string): Promise<void> {
  const client = await temporalClient();
  const ac = new AbortController();
  controllers.push(ac);
  void client.connection
    .withDeadline(Date.now() + 60_000, () =>
      client.connection.withAbortSignal(ac.signal, () =>
        client.workflowService.pollActivityTaskQueue({ namespace: loadConfig().TEMPORAL_NAMESPACE, taskQueue: { name: queue, kind: 1 as never }, identity }),
      ),
    )
    .catch(() => undefined);
}

/**
 * Registers a real poller on a device pool's queue (a long poll, as a device agent does) so the
 * pool counts as online; the poll is aborted when the test file ends.
 */
export async function pollDeviceQueue(poolId: string): Promise<void> {
  await pollQueue(taskQueues.device(poolId), 'integration-test');
  for (let i = 0; i < 50; i++) {
    if ((await listPools()).some((p) => p.kind === 'device' && p.id === poolId && p.online)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`poller on ${taskQueues.device(poolId)} never showed up`);
}

/** A trainer of training pool `pool` that says it has `memoryBytes`, as the trainer's worker identity does. */
export async function pollTrainingQueue(pool: string, memoryBytes: number, bf16 = false): Promise<void> {
  await pollQueue(taskQueues.train(pool), `4242@integration-test memory=${memoryBytes}${bf16 ? ' bf16=1' : ''}`);
  for (let i = 0; i < 50; i++) {
    if ((await describePollers(taskQueues.train(pool), 'activity')).length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`poller on ${taskQueues.train(pool)} never showed up`);
}
