import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { exclusively } from './machine-lock';
import { CancelledError } from './proc';

process.env.EDGETUNE_BENCH_LOCK = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-lock-')), 'bench.lock');

test('two benchmarks on one machine take turns, and the one waiting heartbeats', async () => {
  const spans: [number, number][] = [];
  const work = async () => {
    const start = performance.now();
    await new Promise((r) => setTimeout(r, 700));
    spans.push([start, performance.now()]);
  };
  const beats: unknown[] = [];
  await Promise.all([exclusively('a', work), exclusively('b', work, { heartbeat: (d) => beats.push(d) })]);
  spans.sort((x, y) => x[0] - y[0]);
  assert.ok(spans[1][0] >= spans[0][1], `the second started after the first ended: ${JSON.stringify(spans)}`);
  assert.ok(beats.length > 0, 'the waiting one heartbeats');
});

test('a benchmark cancelled while it waits for the machine never runs; a failing one releases the lock', async () => {
  const ac = new AbortController();
  let ran = false;
  const holder = exclusively('holder', () => new Promise((r) => setTimeout(r, 1500)));
  await new Promise((r) => setTimeout(r, 100));
  const waiting = exclusively('waiter', async () => {
    ran = true;
  }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 300);
  await assert.rejects(waiting, CancelledError);
  await holder;
  assert.equal(ran, false);
  await assert.rejects(exclusively('x', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await exclusively('y', async () => 42), 42, 'the lock was released after the failure');
});
