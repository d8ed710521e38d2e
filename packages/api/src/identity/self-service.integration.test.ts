import '../testing/env';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TRPCError } from '@trpc/server';
import { and, eq } from 'drizzle-orm';
import { authOptions, passwordSignIn, rateLimitRules, retryAfterSecondsOf } from '@edgetune/auth';
import { db, schema } from '@edgetune/db';
import { createCaller } from '../trpc/root';
import { uniqueEmail, useDatabase } from '../testing/fixtures';
import { createTRPCContext } from '../trpc/procedures';
import { listOutbox } from './email';
import { requestPasswordReset, resetPassword, signOutEverywhere, verifyEmail } from './self-service';

useDatabase();

const password = 'correct horse battery';
// Thresholds come from configuration (defaults: 10 sign-in failures, 20 sign-ups, 5 reset requests per 15 minutes).
const rules = rateLimitRules();
const lockMinutes = rules.signinAccount.lockMs / 60_000;
/** A fresh client address per use, so per-address counters of different tests and runs never meet. */
const freshIp = () => `2001:db8::${randomBytes(4).toString('hex')}`;
const ctx = (sessionUserId: string | null, headers: Record<string, string> = {}) => createTRPCContext({ sessionUserId, headers: new Headers(headers), resHeaders: new Headers() });

async function latestLink(to: string, kind: string): Promise<{ link: string; token: string }> {
  const [m] = (await listOutbox({ to, limit: 10 })).filter((e) => e.kind === kind);
  assert.ok(m, `an e-mail of kind ${kind} to ${to}`);
  const link = /(https?:\/\/\S+)/.exec(m.text)![1];
  return { link, token: new URL(link).searchParams.get('token')! };
}

async function signUpViaApi(email = uniqueEmail('idn'), ip = freshIp()) {
  const anon = createCaller(await ctx(null, { 'x-edgetune-client-address': ip, 'user-agent': 'identity-test' }));
  const r = await anon.auth.signUp({ email, password, orgName: `Identity ${email}` });
  return { ...r, email, anon };
}

test('sign-up e-mails a verification link that works once, within 24 hours', async () => {
  const { user, email } = await signUpViaApi();
  const { link, token } = await latestLink(email, 'verify_email');
  assert.match(link, /\/verify-email\?token=[A-Za-z0-9_-]{43}$/);
  // Only the SHA-256 of the token is stored.
  const rows = await db().select().from(schema.userTokens).where(eq(schema.userTokens.userId, user.id));
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0].tokenHash, token);
  assert.ok(!JSON.stringify(rows).includes(token));
  assert.ok(Math.abs(rows[0].expiresAt.getTime() - Date.now() - 24 * 3600_000) < 60_000, 'expires after 24 h');

  const me0 = await createCaller(await ctx(user.id)).me.get();
  assert.equal(me0.emailVerified, false);
  assert.deepEqual(await verifyEmail(token), { email });
  assert.equal((await createCaller(await ctx(user.id)).me.get()).emailVerified, true);
  await assert.rejects(verifyEmail(token), /already been used/);
  await assert.rejects(createCaller(await ctx(null)).auth.verifyEmail({ token: 'x'.repeat(43) }), (e: TRPCError) => e.code === 'BAD_REQUEST' && /not valid/.test(e.message));
  // Verified accounts are not sent another link.
  await assert.rejects(createCaller(await ctx(user.id)).auth.resendVerification(), (e: TRPCError) => e.code === 'CONFLICT');
});

test('an expired verification link is refused; a resent one replaces the old', async () => {
  const { user, email } = await signUpViaApi();
  const first = await latestLink(email, 'verify_email');
  await db().update(schema.userTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.userTokens.userId, user.id));
  await assert.rejects(verifyEmail(first.token), /has expired/);
  await createCaller(await ctx(user.id)).auth.resendVerification();
  const second = await latestLink(email, 'verify_email');
  assert.notEqual(second.token, first.token);
  assert.equal((await verifyEmail(second.token)).email, email);
});

test('password reset: same answer for unknown e-mails, link works once within an hour, ends sessions', async () => {
  const { user, email } = await signUpViaApi();
  const anon = createCaller(await ctx(null, { 'x-edgetune-client-address': freshIp() }));
  const nobody = uniqueEmail('nobody');
  assert.deepEqual(await anon.auth.requestPasswordReset({ email: nobody }), { ok: true });
  assert.equal((await listOutbox({ to: nobody })).length, 0);
  assert.deepEqual(await anon.auth.requestPasswordReset({ email: email.toUpperCase() }), { ok: true });
  const { link, token } = await latestLink(email, 'reset_password');
  assert.match(link, /\/reset-password\?token=/);
  const [tok] = await db()
    .select()
    .from(schema.userTokens)
    .where(and(eq(schema.userTokens.userId, user.id), eq(schema.userTokens.purpose, 'reset_password')));
  assert.ok(Math.abs(tok.expiresAt.getTime() - Date.now() - 3600_000) < 60_000, 'expires after 1 h');

  const [before] = await db().select().from(schema.users).where(eq(schema.users.id, user.id));
  // A weak password is refused without using up the link.
  await assert.rejects(resetPassword(token, 'short'), /at least 10 characters/);
  await anon.auth.resetPassword({ token, password: 'a brand new passphrase' });
  const [after] = await db().select().from(schema.users).where(eq(schema.users.id, user.id));
  assert.equal(after.sessionVersion, before.sessionVersion + 1);
  assert.equal(await passwordSignIn(email, password), null);
  assert.equal((await passwordSignIn(email, 'a brand new passphrase'))?.id, user.id);
  await assert.rejects(resetPassword(token, 'yet another passphrase'), /already been used/);
  const audit = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.actorUserId, user.id), eq(schema.auditEvents.action, 'auth.password_reset')));
  assert.equal(audit.length, 1);
  assert.ok(!JSON.stringify(audit).includes(token));

  await requestPasswordReset(email);
  const again = await latestLink(email, 'reset_password');
  await db().update(schema.userTokens).set({ expiresAt: new Date(Date.now() - 1) }).where(eq(schema.userTokens.userId, user.id));
  await assert.rejects(resetPassword(again.token, 'yet another passphrase'), /has expired/);
});

test('sessions: the JWT carries sv; sign out everywhere and deleting the user void it', async () => {
  const { user } = await signUpViaApi();
  const jwt = authOptions.callbacks!.jwt!;
  const session = authOptions.callbacks!.session!;
  const token = await jwt({ token: { sub: user.id }, user: { id: user.id, email: 'x' }, account: null } as never);
  assert.equal(token.uid, user.id);
  assert.equal(token.sv, 0);
  const read = async () => (await session({ session: { user: { name: null }, expires: '' }, token } as never)) as { user?: { id?: string } };
  assert.equal((await read()).user?.id, user.id);

  const c = createCaller(await ctx(user.id, { 'x-edgetune-client-address': '198.51.100.7', 'user-agent': 'test-agent/1' }));
  await c.auth.signOutEverywhere();
  assert.deepEqual(await read(), {});
  const fresh = await jwt({ token: {}, user: { id: user.id }, account: null } as never);
  assert.equal(fresh.sv, 1);
  assert.equal(((await session({ session: { user: {}, expires: '' }, token: fresh } as never)) as { user?: { id?: string } }).user?.id, user.id);
  const [ev] = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.actorUserId, user.id), eq(schema.auditEvents.action, 'auth.signout_everywhere')));
  assert.equal(ev.ip, '198.51.100.7');
  assert.equal(ev.userAgent, 'test-agent/1');

  await db().delete(schema.users).where(eq(schema.users.id, user.id));
  assert.deepEqual(await session({ session: { user: {}, expires: '' }, token: fresh } as never), {});
  await assert.rejects(signOutEverywhere(user.id), /signed in/);
});

test('sign-in: success and failure are audited; repeated failures lock the account with a clear message', async () => {
  const { user, email } = await signUpViaApi();
  const ip = freshIp();
  const meta = { ip, userAgent: 'brute/1' };
  assert.equal((await passwordSignIn(email, password, meta))?.id, user.id);
  const max = rules.signinAccount.max;
  for (let i = 0; i < max - 1; i++) assert.equal(await passwordSignIn(email, `wrong password ${i}`, meta), null);
  let caught: unknown;
  await assert.rejects(
    passwordSignIn(email, 'wrong password last', meta).catch((e) => {
      caught = e;
      throw e;
    }),
    (e: Error) => e.message === `Too many failed sign-in attempts. Try again in ${lockMinutes} minutes.`,
  );
  assert.equal((caught as { code?: string }).code, 'rate_limited');
  assert.ok(retryAfterSecondsOf(caught)! > (lockMinutes - 1) * 60 && retryAfterSecondsOf(caught)! <= lockMinutes * 60);
  // Locked: even the right password is refused, from any address.
  await assert.rejects(passwordSignIn(email, password, { ip: freshIp(), userAgent: null }), (e: Error) => /^Too many failed sign-in attempts\. Try again in \d+ minutes?\.$/.test(e.message));
  const events = await db().select().from(schema.auditEvents).where(eq(schema.auditEvents.actorUserId, user.id));
  assert.equal(events.filter((e) => e.action === 'auth.signin').length, 1);
  const failed = events.filter((e) => e.action === 'auth.signin_failed');
  assert.equal(failed.length, max + 1);
  assert.ok(failed.every((e) => e.outcome === 'failure' && e.orgId));
  assert.equal(failed.filter((e) => (e.data as { reason?: string }).reason === 'locked').length, 1);
  assert.equal(failed[0].ip, ip);
  assert.ok(!JSON.stringify(events).includes('wrong password'), 'passwords are never recorded');

  // A reset lifts the lockout.
  await requestPasswordReset(email);
  await resetPassword((await latestLink(email, 'reset_password')).token, 'fresh start passphrase');
  assert.equal((await passwordSignIn(email, 'fresh start passphrase'))?.id, user.id);
});

test('sign-in failures for unknown e-mails are recorded without an organization', async () => {
  const email = uniqueEmail('ghost');
  assert.equal(await passwordSignIn(email, 'whatever passphrase', { ip: freshIp(), userAgent: null }), null);
  const [ev] = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.actorLabel, email), eq(schema.auditEvents.action, 'auth.signin_failed')));
  assert.equal(ev.orgId, null);
  assert.equal(ev.actorUserId, null);
});

test('sign-up and reset requests are limited per address / account (429 + retry-after in tRPC data)', async () => {
  const ip = freshIp();
  const anon = createCaller(await ctx(null, { 'x-edgetune-client-address': ip }));
  for (let i = 0; i < rules.signupIp.max; i++) await anon.auth.signUp({ email: uniqueEmail('flood'), password });
  await assert.rejects(anon.auth.signUp({ email: uniqueEmail('flood'), password }), (e: TRPCError) => {
    assert.equal(e.code, 'TOO_MANY_REQUESTS');
    assert.match(e.message, /^Too many sign-ups from your address\. Try again in \d+ minutes?\.$/);
    assert.ok(retryAfterSecondsOf(e.cause)! > 0);
    return true;
  });
  // Another address is unaffected.
  await createCaller(await ctx(null, { 'x-edgetune-client-address': freshIp() })).auth.signUp({ email: uniqueEmail('flood'), password });

  const email = uniqueEmail('resetflood');
  for (let i = 0; i < rules.resetAccount.max; i++) await requestPasswordReset(email, { ip: freshIp(), userAgent: null });
  await assert.rejects(requestPasswordReset(email, { ip: freshIp(), userAgent: null }), /Too many password reset requests/);
});

test('the admin CLI prints the outbox with the link; tokens never reach the logs', async () => {
  const script = fileURLToPath(new URL('../cli/admin.ts', import.meta.url));
  const identity = fileURLToPath(new URL('./self-service.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../../..', import.meta.url));
  const email = uniqueEmail('outbox');
  // A separate process with every log line on: sign up and ask for a reset.
  const flow = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(identity)}); await m.registerAccount({ email: ${JSON.stringify(email)}, password: 'correct horse battery' }); await m.requestPasswordReset(${JSON.stringify(email)}); process.exit(0);`,
    ],
    { cwd: root, env: { ...process.env, LOG_LEVEL: 'trace' }, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(flow.status, 0, flow.stderr);
  const plain = spawnSync(process.execPath, ['--import', 'tsx', script, 'outbox', '--to', email], { cwd: root, env: process.env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /Subject: Confirm your e-mail address/);
  assert.match(plain.stdout, /\/verify-email\?token=[A-Za-z0-9_-]{43}/);
  const json = spawnSync(process.execPath, ['--import', 'tsx', script, 'outbox', '--to', email, '--json', '--limit', '5'], { cwd: root, env: process.env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(json.status, 0, json.stderr);
  const mails = JSON.parse(json.stdout) as { kind: string; text: string; to: string }[];
  assert.deepEqual(mails.map((m) => m.kind), ['reset_password', 'verify_email'], 'newest first');
  const tokens = mails.map((m) => /token=([A-Za-z0-9_-]{43})/.exec(m.text)![1]);
  for (const t of tokens) assert.ok(!flow.stdout.includes(t) && !flow.stderr.includes(t), 'no token in the logs');
  assert.equal((await verifyEmail(tokens[1])).email, email);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', script, 'outbox', '--limit', 'lots'], { cwd: root, env: process.env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--limit must be an integer/);
});
