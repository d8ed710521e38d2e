/**
 * The orchestrator's side of organization pools: a device activity for such a pool becomes a
 * queued task row holding Temporal's task token (the activity then completes asynchronously,
 * through the agent's HTTPS calls in agent.ts), and a keeper that heartbeats the tasks no agent
 * has taken yet — or fails them, with the reason, when no capable agent came online in time.
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { newId, waitText, type PoolTaskInput } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { ActivityCancelledError, ActivityNotFoundError, ApplicationFailure, temporalClient } from '@edgetune/temporal';
import { recordEvents } from '../jobs/records';
import { AGENT_FRESH_MS } from './pools';
import { notifyPoolTask } from './wakeups';

export interface ActivityAttempt {
  taskToken: Uint8Array;
  /** workflow id + activity id, shared by the attempts of one activity. */
  activityKey: string;
  attempt: number;
}

export interface PoolTaskRequest {
  orgId: string;
  poolId: string;
  input: PoolTaskInput;
}

/** Why a pool task can never be served; the activity fails without retrying. */
export const POOL_UNAVAILABLE = 'PoolUnavailable';

/**
 * Queues one attempt of a device activity for an organization pool. Earlier attempts of the same
 * activity are superseded, so an agent still holding one is refused when it reports.
 */
export async function enqueuePoolTask(attempt: ActivityAttempt, req: PoolTaskRequest): Promise<string> {
  const [pool] = await db()
    .select({ id: schema.pools.id })
    .from(schema.pools)
    .where(and(eq(schema.pools.id, req.poolId), eq(schema.pools.orgId, req.orgId)));
  if (!pool) throw ApplicationFailure.nonRetryable(`pool ${req.poolId} no longer exists (it was deleted)`, POOL_UNAVAILABLE);
  const id = newId('poolTask');
  await db().transaction(async (tx) => {
    await tx
      .update(schema.poolTasks)
      .set({ state: 'superseded', finishedAt: new Date(), error: `superseded by attempt ${attempt.attempt}` })
      .where(and(eq(schema.poolTasks.activityKey, attempt.activityKey), inArray(schema.poolTasks.state, ['queued', 'running'])));
    await tx.insert(schema.poolTasks).values({
      id,
      orgId: req.orgId,
      poolId: req.poolId,
      jobId: req.input.jobId,
      device: req.input.device,
      kind: req.input.kind,
      input: req.input,
      taskToken: Buffer.from(attempt.taskToken).toString('base64'),
      activityKey: attempt.activityKey,
      attempt: attempt.attempt,
      state: 'queued',
    });
    await notifyPoolTask(tx, req.poolId);
  });
  return id;
}

type TaskRow = typeof schema.poolTasks.$inferSelect;

export interface KeeperTick {
  heartbeats: number;
  waiting: number;
  failed: number;
  gone: number;
}

/**
 * One round of the keeper: every queued task is heartbeaten while an agent able to take it is
 * online or the wait has not run out; past the wait with none online, it fails with the reason.
 */
export async function keepPoolTasks(now = Date.now()): Promise<KeeperTick> {
  const waitMs = loadConfig().POOL_WAIT_MINUTES * 60_000;
  const tick: KeeperTick = { heartbeats: 0, waiting: 0, failed: 0, gone: 0 };
  const queued = await db().select().from(schema.poolTasks).where(eq(schema.poolTasks.state, 'queued'));
  if (!queued.length) return tick;
  const poolIds = [...new Set(queued.map((t) => t.poolId))];
  const agents = await db().select().from(schema.poolAgents).where(inArray(schema.poolAgents.poolId, poolIds));
  const pools = await db().select({ id: schema.pools.id, name: schema.pools.name }).from(schema.pools).where(inArray(schema.pools.id, poolIds));
  const client = await temporalClient();
  for (const t of queued) {
    const token = new Uint8Array(Buffer.from(t.taskToken, 'base64'));
    const poolName = pools.find((p) => p.id === t.poolId)?.name ?? t.poolId;
    const capable = agents.some((a) => a.poolId === t.poolId && a.profiles.includes(t.device) && now - a.lastSeenAt.getTime() <= AGENT_FRESH_MS);
    try {
      if (!capable && now - t.createdAt.getTime() >= waitMs) {
        const wait = waitText(loadConfig().POOL_WAIT_MINUTES);
        await client.activity.fail(token, ApplicationFailure.nonRetryable(`no device of profile ${t.device} came online in pool ${poolName} within ${wait}`, POOL_UNAVAILABLE));
        await finish(t, 'failed', `no capable agent online within ${wait}`);
        tick.failed++;
        continue;
      }
      if (!capable) {
        await recordEvents({ jobId: t.jobId, orgId: t.orgId }, [
          {
            fact: { kind: 'waiting_for_device', device: t.device, pool: poolName, wait_minutes: loadConfig().POOL_WAIT_MINUTES },
            dedupeKey: `waiting-${t.device}-${t.poolId}`,
            at: now,
          },
        ]);
        tick.waiting++;
      }
      await client.activity.heartbeat(token, { queued: true });
      tick.heartbeats++;
    } catch (e) {
      if (e instanceof ActivityNotFoundError) {
        await finish(t, 'superseded', 'the activity attempt timed out, was retried or its job ended');
        tick.gone++;
      } else if (e instanceof ActivityCancelledError) {
        await client.activity.reportCancellation(token).catch(() => undefined);
        await finish(t, 'cancelled', 'the job was cancelled');
        tick.gone++;
      } else {
        throw e;
      }
    }
  }
  return tick;
}

async function finish(t: TaskRow, state: TaskRow['state'], error: string): Promise<void> {
  await db().update(schema.poolTasks).set({ state, error, finishedAt: new Date() }).where(and(eq(schema.poolTasks.id, t.id), eq(schema.poolTasks.state, 'queued')));
}

/** Old finished task rows are kept a week for the pools' "recent results", then removed. */
export async function pruneFinishedPoolTasks(olderThanDays = 7): Promise<number> {
  const r = await db()
    .delete(schema.poolTasks)
    .where(and(inArray(schema.poolTasks.state, ['succeeded', 'failed', 'cancelled', 'superseded']), lt(schema.poolTasks.finishedAt, sql`now() - ${olderThanDays} * interval '1 day'`)))
    .returning({ id: schema.poolTasks.id });
  return r.length;
}
