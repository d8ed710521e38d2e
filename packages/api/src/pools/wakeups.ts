/**
 * Wakes an organization pool's long polls when a task is queued for it: queuing a task sends
 * NOTIFY on `pool_tasks` (payload: the pool id) in the transaction that inserts it, delivered
 * when it commits. A waiting poll then costs no query until its pool gets work, and it is woken
 * at once.
 *
 * A notification can be missed (sent between a poll's last look and its wait, or while the
 * connection is down): polls still look again after `maxMs`, so that only delays a task. Without
 * the connection they look every FALLBACK_MS, as they did before it existed.
 */
import type { Db } from '@edgetune/db';
import { isListening, listening, notify, stopListening, subscribe } from '../notifications';

const CHANNEL = 'pool_tasks';
/** How often a poll looks when no LISTEN connection is up. */
export const FALLBACK_MS = 150;

const waiters = new Map<string, Set<() => void>>();

function wake(poolId: string | null): void {
  const list = poolId === null ? [...waiters.values()].flatMap((s) => [...s]) : [...(waiters.get(poolId) ?? [])];
  for (const done of list) done();
}

// A notification may have been missed: every waiting poll looks now.
subscribe(CHANNEL, { message: wake, reset: () => wake(null) });

/** Tells every waiting poll of the pool that a task was queued (sent when `tx` commits). */
export async function notifyPoolTask(tx: Db, poolId: string): Promise<void> {
  await notify(tx, CHANNEL, poolId);
}

/**
 * Waits until a task may have been queued for the pool: a notification, `maxMs`, or the abort.
 * Resolves in every case; the caller looks at the queue again.
 */
export async function waitForPoolTask(poolId: string, maxMs: number, signal?: AbortSignal): Promise<void> {
  const ms = Math.max(0, (await listening()) ? maxMs : Math.min(maxMs, FALLBACK_MS));
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
export const listeningForPoolTasks = isListening;

export { stopListening };
