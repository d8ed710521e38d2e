import { after } from 'node:test';
import { loadConfig } from '@edgetune/config';
import { taskQueues, temporalClient } from '@edgetune/temporal';
import { listPools } from '../devices/devices';

const controllers: AbortController[] = [];
after(() => controllers.forEach((c) => c.abort()));

/**
 * Registers a real poller on a device pool's queue (a long poll, as a device agent does) so the
 * pool counts as online; the poll is aborted when the test file ends.
 */
export async function pollDeviceQueue(poolId: string): Promise<void> {
  const queue = taskQueues.device(poolId);
  const client = await temporalClient();
  const ac = new AbortController();
  controllers.push(ac);
  void client.connection
    .withDeadline(Date.now() + 60_000, () =>
      client.connection.withAbortSignal(ac.signal, () =>
        client.workflowService.pollActivityTaskQueue({ namespace: loadConfig().TEMPORAL_NAMESPACE, taskQueue: { name: queue, kind: 1 as never }, identity: 'integration-test' }),
      ),
    )
    .catch(() => undefined);
  for (let i = 0; i < 50; i++) {
    if ((await listPools()).some((p) => p.kind === 'device' && p.id === poolId && p.online)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`poller on ${queue} never showed up`);
}
