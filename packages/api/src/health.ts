import { sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { db } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { taskQueues, temporalClient } from '@edgetune/temporal';
import { describePollers, freshPollers } from './devices/devices';

export interface ComponentStatus {
  status: 'ok' | 'error';
  latency_ms?: number;
  error?: string;
  [k: string]: unknown;
}

export interface HealthReport {
  status: 'ok' | 'error';
  components: {
    database: ComponentStatus;
    temporal: ComponentStatus;
    storage: ComponentStatus;
    workers: { orchestrator: ComponentStatus; trainer: ComponentStatus; device_agent: ComponentStatus };
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

async function check(what: string, fn: () => Promise<Record<string, unknown> | void>, ms = 5000): Promise<ComponentStatus> {
  const started = Date.now();
  try {
    const extra = (await withTimeout(fn(), ms, what)) ?? {};
    return { status: 'ok', latency_ms: Date.now() - started, ...extra };
  } catch (e) {
    return { status: 'error', latency_ms: Date.now() - started, error: (e as Error).message };
  }
}

async function queueCheck(queues: { queue: string; type: 'activity' | 'workflow' }[]): Promise<ComponentStatus> {
  return check('temporal', async () => {
    const result: Record<string, number> = {};
    for (const q of queues) {
      const n = freshPollers(await describePollers(q.queue, q.type)).length;
      result[`${q.queue}:${q.type}`] = n;
      if (n === 0) throw new Error(`no worker is polling ${q.type} tasks on queue '${q.queue}'`);
    }
    return { pollers: result };
  });
}

/** Database, Temporal, storage and one live poller on each queue; the caller maps to 200/503. */
export async function healthCheck(): Promise<HealthReport> {
  const config = loadConfig();
  const [database, temporal, store, orchestrator, trainer, deviceAgent] = await Promise.all([
    check('database', async () => {
      await db().execute(sql`select 1`);
    }),
    check('temporal', async () => {
      const client = await temporalClient();
      await client.workflowService.getSystemInfo({});
      return { address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE };
    }),
    check('storage', async () => {
      await storage().probe();
    }),
    queueCheck([
      { queue: taskQueues.orchestrator, type: 'workflow' },
      { queue: taskQueues.orchestrator, type: 'activity' },
    ]),
    queueCheck([{ queue: taskQueues.train(config.TRAIN_POOL), type: 'activity' }]),
    queueCheck([{ queue: taskQueues.device(config.DEVICE_POOL), type: 'activity' }]),
  ]);
  const components = { database, temporal, storage: store, workers: { orchestrator, trainer, device_agent: deviceAgent } };
  const all = [database, temporal, store, orchestrator, trainer, deviceAgent];
  return { status: all.every((c) => c.status === 'ok') ? 'ok' : 'error', components };
}

/** What anyone may see: each component's ok / error, no addresses, queue names or error texts. */
export interface PublicHealthReport {
  status: 'ok' | 'error';
  components: {
    database: { status: ComponentStatus['status'] };
    temporal: { status: ComponentStatus['status'] };
    storage: { status: ComponentStatus['status'] };
    workers: { orchestrator: { status: ComponentStatus['status'] }; trainer: { status: ComponentStatus['status'] }; device_agent: { status: ComponentStatus['status'] } };
  };
}

export function publicHealth(r: HealthReport): PublicHealthReport {
  const only = (c: ComponentStatus) => ({ status: c.status });
  const { database, temporal, storage: store, workers } = r.components;
  return {
    status: r.status,
    components: {
      database: only(database),
      temporal: only(temporal),
      storage: only(store),
      workers: { orchestrator: only(workers.orchestrator), trainer: only(workers.trainer), device_agent: only(workers.device_agent) },
    },
  };
}
