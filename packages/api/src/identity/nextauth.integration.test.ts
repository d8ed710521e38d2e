import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { authOptions } from '@edgetune/auth';
import { db, schema } from '@edgetune/db';
import { newOrg, useDatabase } from '../testing/fixtures';
import { signOutEverywhere } from './self-service';

useDatabase();

// The real next-auth request handling (what /api/auth/[...nextauth] runs), without Next.js around it.
process.env.NEXTAUTH_URL ??= 'http://edgetune.test';
// next-auth v4 does not export its core by package name; load it by path.
const require = createRequire(import.meta.url);
const { AuthHandler } = require(path.join(path.dirname(require.resolve('next-auth')), 'core', 'index.js')) as { AuthHandler: (p: { req: unknown; options: unknown }) => Promise<unknown> };
const base = process.env.NEXTAUTH_URL;

interface Internal {
  status?: number;
  body?: unknown;
  redirect?: string;
  cookies?: { name: string; value: string; options?: { httpOnly?: boolean; sameSite?: string; secure?: boolean; path?: string } }[];
}
const call = (path: string, init: RequestInit = {}) => AuthHandler({ req: new Request(`${base}/api/auth/${path}`, init), options: authOptions }) as Promise<Internal>;

async function signIn(email: string, password: string, headers: Record<string, string>) {
  const csrf = await call('csrf');
  const csrfCookie = csrf.cookies!.find((c) => c.name.endsWith('csrf-token'))!;
  const token = (csrf.body as { csrfToken: string }).csrfToken;
  const r = await call('callback/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: `${csrfCookie.name}=${csrfCookie.value}`, ...headers },
    body: JSON.stringify({ csrfToken: token, email, password, json: 'true' }),
  });
  const session = r.cookies?.find((c) => c.name.endsWith('session-token'));
  return { redirect: r.redirect ?? '', session };
}

const session = async (cookie: { name: string; value: string }) => (await call('session', { headers: { cookie: `${cookie.name}=${cookie.value}` } })).body as { user?: { id?: string } };

test('next-auth credentials: sign-in records the address, the session ends with sign out everywhere', async () => {
  const { userId, email, orgId } = await newOrg('nextauth');
  const ip = `2001:db8::${randomBytes(3).toString('hex')}`;
  const ok = await signIn(email, 'correct horse battery staple', { 'x-edgetune-client-address': ip, 'user-agent': 'nextauth-test' });
  assert.ok(ok.session, `a session cookie (redirect: ${ok.redirect})`);
  // Not readable by page scripts, not sent on cross-site subrequests; Secure follows an https NEXTAUTH_URL.
  assert.equal(ok.session.options?.httpOnly, true);
  assert.equal(ok.session.options?.sameSite, 'lax');
  assert.equal(ok.session.options?.secure, (base ?? '').startsWith('https:'));
  assert.equal((await session(ok.session)).user?.id, userId);
  const [ev] = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.orgId, orgId), eq(schema.auditEvents.action, 'auth.signin')));
  assert.equal(ev.ip, ip);
  assert.equal(ev.userAgent, 'nextauth-test');

  const bad = await signIn(email, 'not the password', { 'x-edgetune-client-address': ip });
  assert.equal(bad.session, undefined);
  assert.match(bad.redirect, /error=CredentialsSignin/);

  await signOutEverywhere(userId);
  assert.deepEqual(await session(ok.session), {}, 'the old session cookie no longer counts');
});

test('next-auth credentials: a locked account gets the lockout message as the error', async () => {
  const { email } = await newOrg('nextauth-lock');
  let last = { redirect: '' } as Awaited<ReturnType<typeof signIn>>;
  for (let i = 0; i < 30 && !/Too%20many|Too\+many/.test(last.redirect); i++) last = await signIn(email, `wrong ${i}`, {});
  const error = new URL(last.redirect, base).searchParams.get('error');
  assert.match(error ?? '', /^Too many failed sign-in attempts\. Try again in \d+ minutes?\.$/);
  const right = await signIn(email, 'correct horse battery staple', {});
  assert.equal(right.session, undefined, 'locked: even the right password does not sign in');
});
