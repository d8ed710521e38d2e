import '../testing/env';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findUserByEmail, verifyApiKey } from '@edgetune/auth';
import { uniqueEmail, useDatabase } from '../testing/fixtures';

useDatabase();

const script = fileURLToPath(new URL('./admin.ts', import.meta.url));
const root = path.resolve(path.dirname(script), '../../../..');

function admin(args: string[], input = '') {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: process.env, encoding: 'utf8', timeout: 60_000, input });
}

test('create-user then create-api-key prints a working key as the last line', async () => {
  const email = uniqueEmail('cli');
  const org = `CLI Org ${Date.now()}`;
  const u = admin(['create-user', '--email', email, '--org', org], 'correct horse battery\n');
  assert.equal(u.status, 0, u.stderr);
  assert.match(u.stdout, /Created user/);
  const k = admin(['create-api-key', '--email', email, '--org', org]);
  assert.equal(k.status, 0, k.stderr);
  const last = k.stdout.trim().split('\n').pop()!;
  assert.match(last, /^et_[A-Za-z0-9]{12}_[A-Za-z0-9]{32}$/);
  const v = await verifyApiKey(last);
  assert.ok(v);
});

test('bad input exits 1 with a clear message on stderr', () => {
  const missing = admin(['create-user', '--email', uniqueEmail('cli')], 'correct horse battery\n');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /--org is required/);
  const nopass = admin(['create-user', '--email', uniqueEmail('cli'), '--org', 'x']);
  assert.equal(nopass.status, 1);
  assert.match(nopass.stderr, /a password is required/);
  const weak = admin(['create-user', '--email', uniqueEmail('cli'), '--org', 'x'], 'short\n');
  assert.equal(weak.status, 1);
  assert.match(weak.stderr, /at least 10 characters/);
  const nouser = admin(['create-api-key', '--email', uniqueEmail('nobody'), '--org', 'nothing']);
  assert.equal(nouser.status, 1);
  assert.match(nouser.stderr, /No user/);
  const unknown = admin(['frobnicate']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown command/);
});

test('a password in argv is refused before anything is created; the environment variable works', async () => {
  const email = uniqueEmail('cli-argv');
  const argv = admin(['create-user', '--email', email, '--password', 'correct horse battery', '--org', `CLI ${Date.now()}`]);
  assert.equal(argv.status, 1);
  assert.match(argv.stderr, /--password is not accepted/);
  assert.equal(await findUserByEmail(email), null);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, 'create-user', '--email', email, '--org', `CLI env ${Date.now()}`], {
    cwd: root,
    env: { ...process.env, EDGETUNE_ADMIN_PASSWORD: 'correct horse battery' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(await findUserByEmail(email));
});

test('unlock lifts the lock-out of an address: the locked pool token endpoint answers again', async () => {
  const { countAttempt, assertNotLocked, limitKeys } = await import('@edgetune/auth');
  const ip = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
  const rule = { max: 2, windowMs: 60_000, lockMs: 15 * 60_000 };
  for (let i = 0; i < 3; i++) await countAttempt(limitKeys.poolTokenIp(ip), rule);
  await assert.rejects(assertNotLocked([limitKeys.poolTokenIp(ip)], 'failed pool token attempts from your address'), /Too many failed pool token attempts/);
  const r = admin(['unlock', '--ip', ip]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Cleared 1 lock-out record of address ${ip.replace(/\./g, '\\.')}\\.`));
  await assertNotLocked([limitKeys.poolTokenIp(ip)], 'failed pool token attempts from your address');
  const both = admin(['unlock', '--ip', ip, '--email', 'x@example.test']);
  assert.equal(both.status, 1);
  assert.match(both.stderr, /unlock takes one of --ip or --email/);
});
