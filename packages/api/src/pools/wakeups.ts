/**
 * Wakes an organization pool's long polls when a task is queued for it. Each process that serves
 * polls holds one LISTEN connection on `pool_tasks` (payload: the pool id); queuing a task sends
 * NOTIFY in the transaction that inserts it, delivered when it commits. A waiting poll then
 * costs no query until its pool gets work, and it is woken at once.
 *
 * A notification can be missed (sent between a poll's last look and its wait, or while the
 * connection is down): polls still look again after `maxMs`, so that only delays a task. Without
 * the connection they look every FALLBACK_MS, as they did before it existed.
 */
import { sql } from 'drizzle-orm';
import { newListenClient, type Db } from '@edgetune/db';
import { logger } from '../logger';

const CHANNEL = 'pool_tasks';
/** How often a poll looks when no LISTEN connection is up. */
export const FALLBACK_MS = 150;

const waiters = new Map<string, Set<() => void>>();
type ListenClient = ReturnType<typeof newListenClient>;
let client: ListenClient | null = null;
let connecting: Promise<ListenClient | null> | null = null;
let retryAfter = 0;

function wake(poolId: string | null): void {
  const list = poolId === null ? [...waiters.values()].flatMap((s) => [...s]) : [...(waiters.get(poolId) ?? [])];
  for (const done of list) done();
}

/** The LISTEN connection, connecting on first use; null while it cannot be had (then retried after a pause). */
async function listener(): Promise<ListenClient | null> {
  if (client) return client;
  if (Date.now() < retryAfter) return null;
  connecting ??= (async () => {
    const c = newListenClient();
    const lost = (why: string) => {
      if (client !== c) return;
      client = null;
      retryAfter = Date.now() + 1000;
      logger.warn({ why }, 'the pool task notification connection was lost; polls look every 150 ms until it is back');
      // Every waiting poll looks now, in case a task came while nobody listened.
      wake(null);
      c.end().catch(() => undefined);
    };
    c.on('notification', (m) => wake(m.payload ?? null));
    c.on('error', (e) => lost(e.message));
    c.on('end', () => lost('ended'));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      client = c;
      return c;
    } catch (e) {
      retryAfter = Date.now() + 1000;
      logger.warn({ err: (e as Error).message }, 'could not listen for pool task notifications; polls look every 150 ms');
      await c.end().catch(() => undefined);
      return null;
    }
  })().finally(() => {
    connecting = null;
  });
  return connecting;
}

/** Tells every waiting poll of the pool that a task was queued (sent when `tx` commits). */
export async function notifyPoolTask(tx: Db, poolId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CHANNEL}, ${poolId})`);
}

/**
 * Waits until a task may have been queued for the pool: a notification, `maxMs`, or the abort.
 * Resolves in every case; the caller looks at the queue again.
 */
export async function waitForPoolTask(poolId: string, maxMs: number, signal?: AbortSignal): Promise<void> {
  const listening = (await listener()) !== null;
  const ms = Math.max(0, listening ? maxMs : Math.min(maxMs, FALLBACK_MS));
  if (signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const set = waiters.get(poolId) ?? new Set<() => void>();
    waiters.set(poolId, set);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      set.delete(done);
      if (!set.size && waiters.get(poolId) === set) waiters.delete(poolId);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    set.add(done);
  });
}

/** Whether this process holds the LISTEN connection now (tests, health). */
export function listeningForPoolTasks(): boolean {
  return client !== null;
}

/** Ends the LISTEN connection (tests, shutdown). */
export async function stopListening(): Promise<void> {
  const c = client;
  client = null;
  await c?.end().catch(() => undefined);
}
