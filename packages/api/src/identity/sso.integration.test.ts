/**
 * SSO end to end over HTTP: the web app at BASE_URL and the real OpenID provider the harness
 * started (infra/oidc-test-provider.ts; OIDC_ISSUER names it). A cookie jar and manual redirects
 * stand in for the browser: csrf → sign-in POST → the provider's login form → callback → session.
 */
import '../testing/env';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { and, eq, sql } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { signUp } from './accounts';
import { createCaller } from '../trpc/root';
import { createTRPCContext } from '../trpc/procedures';
import { uniqueEmail, useDatabase } from '../testing/fixtures';

const baseUrl = process.env.BASE_URL;
const issuer = process.env.OIDC_ISSUER;

/** Cookies by name; loopback services on different ports share them, as in a browser. */
class CookieJar {
  private cookies = new Map<string, string>();
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.split('=').map((s) => s.trim().toLowerCase());
        return (k === 'max-age' && Number(v) <= 0) || (k === 'expires' && Date.parse(v) < Date.now());
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function request(jar: CookieJar, url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
  const res = await fetch(url, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    redirect: 'manual',
    headers: { cookie: jar.header(), ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: init.form ? new URLSearchParams(init.form).toString() : undefined,
  });
  jar.store(res);
  return res;
}

/**
 * Signs in through the provider as `login` and returns where the app finally sent the browser
 * (the callback URL on success, the sign-in page with `?error=` when refused) and the session.
 */
async function ssoSignIn(login: string): Promise<{ landing: URL; session: { user?: { id?: string; email?: string } }; loginFormSeen: boolean }> {
  const jar = new CookieJar();
  const csrf = (await (await request(jar, `${baseUrl}/api/auth/csrf`)).json()) as { csrfToken: string };
  const start = await request(jar, `${baseUrl}/api/auth/signin/oidc`, { form: { csrfToken: csrf.csrfToken, callbackUrl: `${baseUrl}/jobs`, json: 'true' } });
  assert.equal(start.status, 200, `sign-in POST answered ${start.status}`);
  let url = ((await start.json()) as { url: string }).url;
  assert.ok(url.startsWith(`${issuer}/auth?`), `expected a redirect to the provider, got ${url}`);
  let loginFormSeen = false;
  for (let hop = 0; hop < 15; hop++) {
    const res = await request(jar, url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).toString();
      if (url.startsWith(baseUrl!) && !url.includes('/api/auth/')) {
        const session = (await (await request(jar, `${baseUrl}/api/auth/session`)).json()) as { user?: { id?: string; email?: string } };
        return { landing: new URL(url), session, loginFormSeen };
      }
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    assert.ok(res.status === 200 && action && /name="login"/.test(html), `expected the provider's login form at ${url}, got ${res.status}: ${html.slice(0, 300)}`);
    loginFormSeen = true;
    const post = await request(jar, new URL(action.replace(/&amp;/g, '&'), url).toString(), { form: { prompt: 'login', login, password: 'any password' } });
    assert.ok(post.status >= 300 && post.status < 400, `login POST answered ${post.status}`);
    url = new URL(post.headers.get('location')!, url).toString();
  }
  throw new Error('too many redirects');
}

const userByEmail = async (email: string) => (await db().select().from(schema.users).where(sql`lower(${schema.users.email}) = ${email.toLowerCase()}`))[0];
const identitiesOf = (userId: string) => db().select().from(schema.identities).where(eq(schema.identities.userId, userId));

describe('SSO through a real OpenID provider', () => {
  useDatabase();

  it('the harness configured the provider', () => {
    assert.ok(baseUrl, 'BASE_URL must name the running web app');
    assert.ok(issuer, 'OIDC_ISSUER must name the test OpenID provider (infra/test.ts starts it)');
  });

  it('a new verified e-mail creates a user without password, with their own organization, and signs in', async () => {
    const email = uniqueEmail('sso-new');
    const r = await ssoSignIn(email);
    assert.ok(r.loginFormSeen, 'the provider asked for a login');
    assert.equal(r.landing.pathname, '/jobs');
    assert.equal(r.session.user?.email, email);
    const user = await userByEmail(email);
    assert.ok(user, 'user created');
    assert.equal(r.session.user?.id, user.id);
    assert.equal(user.name, `Test ${email.split('@')[0]}`, 'name taken from the provider (its userinfo endpoint)');
    assert.equal(user.passwordHash, null);
    assert.ok(user.emailVerifiedAt, 'e-mail marked verified');
    const memberships = await db().select().from(schema.memberships).where(eq(schema.memberships.userId, user.id));
    assert.deepEqual(memberships.map((m) => m.role), ['owner']);
    const ids = await identitiesOf(user.id);
    assert.deepEqual(ids.map((i) => [i.provider, i.providerAccountId, i.email]), [['oidc', email, email]]);

    const [audit] = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.actorUserId, user.id), eq(schema.auditEvents.action, 'auth.signin')));
    assert.ok(audit, 'the sign-in is in the audit log');
    assert.equal(audit.orgId, memberships[0].orgId);
    assert.deepEqual(audit.data, { method: 'sso:oidc' });

    // Signing in again is the same user and the same single link.
    const again = await ssoSignIn(email);
    assert.equal(again.session.user?.id, user.id);
    assert.equal((await identitiesOf(user.id)).length, 1);
    const orgs = await db().select().from(schema.memberships).where(eq(schema.memberships.userId, user.id));
    assert.equal(orgs.length, 1, 'no second organization');
  });

  it('an existing account with a verified e-mail is linked, keeping its password and organization', async () => {
    const email = uniqueEmail('sso-existing');
    const created = await signUp({ email, password: 'correct horse battery staple', orgName: 'SSO existing' });
    await db().update(schema.users).set({ emailVerifiedAt: new Date() }).where(eq(schema.users.id, created.user.id));
    const before = await userByEmail(email);

    const r = await ssoSignIn(email.toUpperCase());
    assert.equal(r.landing.pathname, '/jobs');
    assert.equal(r.session.user?.id, created.user.id, 'signed in as the existing user');
    const ids = await identitiesOf(created.user.id);
    assert.deepEqual(ids.map((i) => [i.provider, i.email]), [['oidc', email]]);
    const after = await userByEmail(email);
    assert.equal(after.passwordHash, before.passwordHash, 'password kept');
    assert.equal(after.sessionVersion, before.sessionVersion);
    const memberships = await db().select().from(schema.memberships).where(eq(schema.memberships.userId, created.user.id));
    assert.deepEqual(memberships.map((m) => m.orgId), [created.org.id]);
  });

  it('an existing account whose e-mail was never verified is handed over without its password and old sessions', async () => {
    const email = uniqueEmail('sso-squat');
    const created = await signUp({ email, password: 'correct horse battery staple' });
    const before = await userByEmail(email);
    assert.equal(before.emailVerifiedAt, null);

    const r = await ssoSignIn(email);
    assert.equal(r.session.user?.id, created.user.id);
    const after = await userByEmail(email);
    assert.ok(after.emailVerifiedAt, 'now verified');
    assert.equal(after.passwordHash, null, 'the password whoever signed up set is void');
    assert.equal(after.sessionVersion, before.sessionVersion + 1, 'their sessions are void');
    const link = await db().select().from(schema.identities).where(and(eq(schema.identities.provider, 'oidc'), eq(schema.identities.userId, created.user.id)));
    assert.equal(link.length, 1);
  });

  it('an unverified e-mail is refused with a readable reason and creates nothing', async () => {
    const email = uniqueEmail('unverified');
    const r = await ssoSignIn(email);
    assert.equal(r.landing.pathname, '/signin');
    assert.equal(r.landing.searchParams.get('error'), 'SsoEmailUnverified');
    assert.equal(r.session.user, undefined, 'no session');
    assert.equal(await userByEmail(email), undefined, 'no user created');
    const ids = await db().select().from(schema.identities).where(eq(schema.identities.email, email));
    assert.equal(ids.length, 0);
    const failed = await db().select().from(schema.auditEvents).where(and(eq(schema.auditEvents.actorLabel, email), eq(schema.auditEvents.action, 'auth.signin_failed')));
    assert.equal(failed.length, 1, 'the refusal is in the audit log');
    assert.deepEqual([failed[0].outcome, failed[0].orgId, failed[0].data], ['failure', null, { method: 'sso:oidc', reason: 'SsoEmailUnverified' }]);

    const page = await (await fetch(`${baseUrl}/signin?error=SsoEmailUnverified`)).text();
    assert.ok(page.includes('has not verified your e-mail address'), 'the sign-in page explains the refusal');
  });

  it('auth.providers lists the configured provider for anyone', async () => {
    const anon = createCaller(await createTRPCContext({ sessionUserId: null, headers: new Headers() }));
    assert.deepEqual(await anon.auth.providers(), [{ id: 'oidc', name: process.env.OIDC_NAME ?? 'Single sign-on' }]);
  });

  it('the sign-in page offers the configured provider', async () => {
    const page = await (await fetch(`${baseUrl}/signin`)).text();
    const label = `Sign in with ${process.env.OIDC_NAME ?? 'Single sign-on'}`;
    assert.ok(page.includes(label), `the sign-in page shows "${label}"`);
  });
});
