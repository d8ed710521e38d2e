import { asc, isNull } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { deviceProfiles, type DeviceProfile, type Fingerprint } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { taskQueues, temporalClient } from '@edgetune/temporal';

/** A poller counts as "seen recently" within this window. */
export const POLLER_FRESH_MS = 90_000; // a live worker long-polls at least every ~70 s

const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

export interface PollerInfo {
  identity: string;
  lastAccessTime: Date | null;
}

function tsToDate(ts: unknown): Date | null {
  if (!ts || typeof ts !== 'object') return null;
  const t = ts as { seconds?: unknown; nanos?: number | null };
  const s = t.seconds;
  const seconds = typeof s === 'number' ? s : s && typeof (s as { toNumber?: () => number }).toNumber === 'function' ? (s as { toNumber: () => number }).toNumber() : Number(s ?? 0);
  return new Date(seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

/** Pollers Temporal has seen on a task queue (activity or workflow side). */
export async function describePollers(taskQueue: string, type: 'activity' | 'workflow'): Promise<PollerInfo[]> {
  const client = await temporalClient();
  const res = await client.workflowService.describeTaskQueue({
    namespace: loadConfig().TEMPORAL_NAMESPACE,
    taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL as never },
    taskQueueType: (type === 'activity' ? TASK_QUEUE_TYPE_ACTIVITY : TASK_QUEUE_TYPE_WORKFLOW) as never,
  });
  return (res.pollers ?? []).map((p) => ({ identity: p.identity ?? '', lastAccessTime: tsToDate(p.lastAccessTime) }));
}

export function freshPollers(pollers: PollerInfo[], now = Date.now()): PollerInfo[] {
  return pollers.filter((p) => p.lastAccessTime && now - p.lastAccessTime.getTime() <= POLLER_FRESH_MS);
}

export interface PoolView {
  id: string;
  kind: 'device' | 'train';
  profiles: string[];
  fingerprint: Fingerprint;
  online: boolean;
  pollers: number;
  lastPollAt: Date | null;
  registeredAt: Date;
  lastSeenAt: Date;
}

/**
 * The platform's registered pools (organization pools are in pools/pools.ts), each marked online
 * when Temporal has a fresh poller on its queue.
 */
export async function listPools(): Promise<PoolView[]> {
  const rows = await db().select().from(schema.pools).where(isNull(schema.pools.orgId)).orderBy(asc(schema.pools.id));
  return Promise.all(
    rows.map(async (row) => {
      const queue = row.kind === 'train' ? taskQueues.train(row.id) : taskQueues.device(row.id);
      // A queue Temporal cannot describe has no live poller as far as we can tell.
      const fresh = freshPollers(await describePollers(queue, 'activity').catch((): PollerInfo[] => []));
      const last = fresh.map((p) => p.lastAccessTime!.getTime()).sort((a, b) => b - a)[0];
      return {
        id: row.id,
        kind: row.kind,
        profiles: row.profiles,
        fingerprint: row.fingerprint!, // a platform pool's row is written by its registration
        online: fresh.length > 0,
        pollers: fresh.length,
        lastPollAt: last ? new Date(last) : null,
        registeredAt: row.registeredAt,
        lastSeenAt: row.lastSeenAt,
      };
    }),
  );
}

const isOnlineDevicePool = (p: PoolView) => p.kind === 'device' && p.online;

export async function onlineDevicePools(): Promise<PoolView[]> {
  return (await listPools()).filter(isOnlineDevicePool);
}

export interface DeviceView extends DeviceProfile {
  /** Online pools that measure this profile. */
  pools: string[];
  available: boolean;
}

/**
 * The device catalog with, for each profile, the online pools that serve it. Pass `pools` when
 * the caller already has listPools()' answer, so Temporal is not asked twice.
 */
export async function listDevices(pools?: PoolView[]): Promise<DeviceView[]> {
  const online = (pools ?? (await listPools())).filter(isOnlineDevicePool);
  return deviceProfiles.map((d) => {
    const pools = online.filter((p) => p.profiles.includes(d.id)).map((p) => p.id);
    return { ...d, pools, available: pools.length > 0 };
  });
}
