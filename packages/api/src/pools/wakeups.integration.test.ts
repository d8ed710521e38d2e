import '../testing/env';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { db } from '@edgetune/db';
import { useDatabase } from '../testing/fixtures';
import { listeningForPoolTasks, notifyPoolTask, stopListening, waitForPoolTask } from './wakeups';

useDatabase();
after(() => stopListening());

const timed = async (p: Promise<void>) => {
  const t0 = performance.now();
  await p;
  return performance.now() - t0;
};

test('a waiting poll wakes when a task is queued for its pool, at commit, and only for its pool', async () => {
  await waitForPoolTask('pool_warmup', 1); // connects and listens
  assert.equal(listeningForPoolTasks(), true);

  const woken = waitForPoolTask('pool_a', 10_000);
  const other = waitForPoolTask('pool_b', 1500);
  const t0 = performance.now();
  await db().transaction(async (tx) => {
    await notifyPoolTask(tx, 'pool_a');
    // Not before the transaction commits: the task is not visible to a poll before then either.
    await new Promise((r) => setTimeout(r, 300));
  });
  await woken;
  const ms = performance.now() - t0;
  assert.ok(ms >= 290 && ms < 2000, `woken ${ms.toFixed(0)} ms after the notify, at its commit`);
  const otherMs = await timed(other);
  assert.ok(otherMs > 1000, "another pool's poll was not woken");

  // A rolled-back transaction wakes nobody.
  const quiet = waitForPoolTask('pool_a', 800);
  await db()
    .transaction(async (tx) => {
      await notifyPoolTask(tx, 'pool_a');
      throw new Error('roll back');
    })
    .catch(() => undefined);
  assert.ok((await timed(quiet)) >= 700);
});

test('when the connection is lost every poll looks again, and the next wait listens anew', async () => {
  await waitForPoolTask('pool_warmup', 1);
  const waiting = waitForPoolTask('pool_c', 20_000);
  const killed = await db().execute(sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${`edgetune-listen-${process.pid}`}`);
  assert.equal(killed.rows.length, 1, 'this process had one listening connection');
  assert.ok((await timed(waiting)) < 5000, 'the waiting poll was woken by the loss');
  // Reconnecting waits a moment after a loss; then notifications flow again.
  await new Promise((r) => setTimeout(r, 1100));
  await waitForPoolTask('pool_warmup', 1);
  assert.equal(listeningForPoolTasks(), true);
  const again = waitForPoolTask('pool_c', 10_000);
  await new Promise((r) => setTimeout(r, 50));
  await db().transaction((tx) => notifyPoolTask(tx, 'pool_c'));
  assert.ok((await timed(again)) < 2000);
});
