/**
 * The web server as an outsider meets it, over real HTTP: where the client address comes from,
 * that one request cannot freeze it, that bodies are limited as they stream, and the headers
 * every page carries. Runs against the stack `npm test` started (BASE_URL), plus a second copy of
 * the server that trusts one proxy.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { and, eq, inArray } from 'drizzle-orm';
import { rateLimitRules } from '@edgetune/auth';
import { apiKeys } from '@edgetune/api';
import { newOrg } from '@edgetune/api/testing';
import { closeDb, db, schema } from '@edgetune/db';

const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:3100';
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const signupKey = 'signup:ip:127.0.0.1';

const signUp = (base: string, email: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${base}/api/trpc/auth.signUp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ json: { email, password: 'correct horse battery staple' } }),
    signal,
  });

async function signupAuditIp(email: string): Promise<string | null> {
  const [u] = await db().select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.email, email)).limit(1);
  assert.ok(u, `user ${email} exists`);
  const [ev] = await db()
    .select({ ip: schema.auditEvents.ip })
    .from(schema.auditEvents)
    .where(and(eq(schema.auditEvents.actorUserId, u.id), eq(schema.auditEvents.action, 'org.created')))
    .limit(1);
  return ev?.ip ?? null;
}

const uniqueEmail = (tag: string) => `${tag}-${randomBytes(5).toString('hex')}@example.test`;

let proxied: ChildProcess | null = null;
const proxiedPort = Number(process.env.TEST_PROXIED_WEB_PORT ?? 3197);
// Another loopback address than the default: the server must listen where HOST says (and only there).
const proxiedHost = '127.0.0.2';
const proxiedUrl = `http://${proxiedHost}:${proxiedPort}`;

before(async () => {
  // A second web server on the same database, as deployed behind one reverse proxy.
  proxied = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(here, 'server.ts')], {
    cwd: here,
    env: { ...process.env, PORT: String(proxiedPort), HOST: proxiedHost, TRUST_PROXY_HOPS: '1', NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(`${proxiedUrl}/api/trpc/auth.providers`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(500);
  }
  throw new Error('the second web server did not start');
});

after(async () => {
  if (proxied?.pid) process.kill(-proxied.pid, 'SIGTERM');
  await db().delete(schema.rateLimits).where(inArray(schema.rateLimits.key, [signupKey]));
  await closeDb();
});

test('without trusted proxies the address is the socket peer: a forged X-Forwarded-For neither evades the limit nor reaches the audit log', async () => {
  await db().delete(schema.rateLimits).where(eq(schema.rateLimits.key, signupKey));
  const { max } = rateLimitRules().signupIp;
  try {
    const first = uniqueEmail('xff');
    assert.equal((await signUp(BASE_URL, first, { 'x-forwarded-for': '203.0.113.66', 'x-edgetune-client-address': '203.0.113.67' })).status, 200);
    assert.equal(await signupAuditIp(first), '127.0.0.1');
    for (let i = 1; i < max; i++) {
      const r = await signUp(BASE_URL, uniqueEmail('xff'), { 'x-forwarded-for': `198.51.100.${i}` });
      assert.equal(r.status, 200, `sign-up ${i + 1} of ${max}`);
    }
    const refused = await signUp(BASE_URL, uniqueEmail('xff'), { 'x-forwarded-for': '198.51.100.250' });
    assert.equal(refused.status, 429, 'the address is 127.0.0.1 whatever the header says');
  } finally {
    // Later suites (e2e) sign up from this address too.
    await db().delete(schema.rateLimits).where(eq(schema.rateLimits.key, signupKey));
  }
});

test('behind one trusted proxy the address is the entry that proxy appended, never one further left', async () => {
  const email = uniqueEmail('proxied');
  assert.equal((await signUp(proxiedUrl, email, { 'x-forwarded-for': '192.0.2.1, 203.0.113.77' })).status, 200);
  assert.equal(await signupAuditIp(email), '203.0.113.77');
  const bare = uniqueEmail('proxied-bare');
  assert.equal((await signUp(proxiedUrl, bare, { 'x-forwarded-for': 'not-an-address' })).status, 200);
  assert.equal(await signupAuditIp(bare), '127.0.0.1', 'garbage falls back to the socket peer');
  await db().delete(schema.rateLimits).where(eq(schema.rateLimits.key, signupKey));
});

test('the reported freeze: a crafted e-mail is refused at once and the server keeps answering', async () => {
  const attack = 'x@' + '.a'.repeat(64_000) + '@';
  const signal = AbortSignal.timeout(5000);
  const [r, health] = await Promise.all([signUp(BASE_URL, attack, {}, signal), fetch(`${BASE_URL}/api/health`, { signal })]);
  assert.equal(r.status, 400);
  assert.ok([200, 503].includes(health.status));
});

test('bodies are limited by bytes as they stream: 413 for tRPC and REST, before the whole body arrives', async () => {
  const big = JSON.stringify({ json: { email: 'a'.repeat(2 * 1024 * 1024), password: 'x' } });
  const declared = await fetch(`${BASE_URL}/api/trpc/auth.signUp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(declared.status, 413);
  // Chunked, no Content-Length: cut off at the limit while streaming.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      const chunk = new TextEncoder().encode('a'.repeat(256 * 1024));
      for (let i = 0; i < 8; i++) c.enqueue(chunk);
      c.close();
    },
  });
  const chunked = await fetch(`${BASE_URL}/api/trpc/auth.signUp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
  const { caller } = await newOrg('bodies');
  const { key } = await apiKeys.createApiKey(caller, { name: 'bodies', scopes: ['train'] });
  const rest = await fetch(`${BASE_URL}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: big });
  assert.equal(rest.status, 413);
  assert.match(((await rest.json()) as { error: { message: string } }).error.message, /Request body too large: the limit is 1048576 bytes/);
});

test('every page carries a content security policy that forbids framing', async () => {
  // The last one is an edge device's route, which the server answers without Next.js.
  for (const p of ['/signin', '/api/health', '/docs/datasets', '/api/v1/fleets/flt_x/tuf/timestamp.json']) {
    const r = await fetch(`${BASE_URL}${p}`);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, p);
    assert.match(csp, /default-src 'self'/, p);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
  }
});

test('anonymous health answers say ok or error per component, nothing about addresses or errors', async () => {
  const r = await fetch(`${BASE_URL}/api/health`);
  const text = await r.text();
  const body = JSON.parse(text) as { status: string; components: Record<string, unknown> };
  assert.ok(['ok', 'error'].includes(body.status));
  assert.deepEqual(Object.keys(body.components).sort(), ['database', 'storage', 'temporal', 'workers']);
  assert.doesNotMatch(text, /127\.0\.0\.1|:\d{4}|queue|latency|namespace|error"?:\s*"/);
});

test('the server listens on HOST:PORT, not on a default address', async () => {
  assert.equal((await fetch(`${proxiedUrl}/api/trpc/auth.providers`)).status, 200);
  await assert.rejects(fetch(`http://127.0.0.1:${proxiedPort}/api/trpc/auth.providers`), (e: Error & { cause?: { code?: string } }) => {
    assert.equal(e.cause?.code, 'ECONNREFUSED');
    return true;
  });
});
