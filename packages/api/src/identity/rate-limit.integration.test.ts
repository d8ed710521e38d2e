import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { assertNotLocked, clearAttempts, countAttempt, lockedError } from '@edgetune/auth';
import { useDatabase } from '../testing/fixtures';

useDatabase();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('fixed windows: the attempt reaching the maximum locks; the lock ends; a new window starts from one', async () => {
  const key = `test:${randomBytes(6).toString('hex')}`;
  const rule = { max: 3, windowMs: 600, lockMs: 900 };
  assert.equal(await countAttempt(key, rule), null);
  assert.equal(await countAttempt(key, rule), null);
  await assertNotLocked([key], 'tests');
  const until = await countAttempt(key, rule);
  assert.ok(until && until.getTime() > Date.now() + 500);
  await assert.rejects(assertNotLocked([key, null], 'test attempts'), (e: Error & { code?: string; retryAfterSeconds?: number }) => {
    assert.equal(e.code, 'rate_limited');
    assert.equal(e.message, 'Too many test attempts. Try again in 1 minute.');
    assert.equal(e.retryAfterSeconds, 1);
    return true;
  });
  await sleep(1000);
  await assertNotLocked([key], 'tests');
  // The window has passed too: counting starts again at one.
  assert.equal(await countAttempt(key, rule), null);
  assert.equal(await countAttempt(key, rule), null);
  assert.ok(await countAttempt(key, rule));
  await clearAttempts([key]);
  await assertNotLocked([key], 'tests');
  assert.equal(await countAttempt(null, rule), null, 'no key (unknown address): nothing is counted');
});

test('concurrent attempts are all counted (one atomic upsert each)', async () => {
  const key = `test:${randomBytes(6).toString('hex')}`;
  const rule = { max: 20, windowMs: 60_000, lockMs: 60_000 };
  const results = await Promise.all(Array.from({ length: 20 }, () => countAttempt(key, rule)));
  assert.equal(results.filter(Boolean).length, 1, 'exactly the 20th attempt sets the lock');
  await assert.rejects(assertNotLocked([key], 'tests'), /Try again in 1 minute/);
});

test('lockout messages round up to whole minutes', () => {
  const now = Date.now();
  assert.equal(lockedError('failed sign-in attempts', new Date(now + 14 * 60_000 + 1), now).message, 'Too many failed sign-in attempts. Try again in 15 minutes.');
  assert.equal(lockedError('failed sign-in attempts', new Date(now + 13 * 60_000 + 30_000), now).message, 'Too many failed sign-in attempts. Try again in 14 minutes.');
});
