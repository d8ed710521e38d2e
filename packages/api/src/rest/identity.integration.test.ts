import { z } from 'zod';
import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { eq } from 'drizzle-orm';
import { rateLimitRules } from '@edgetune/auth';
import { db, schema } from '@edgetune/db';
import { createApiKey, listApiKeys, revokeApiKey } from '../identity/api-keys';
import { listAudit } from '../identity/audit';
import { listOutbox } from '../identity/email';
import { renameOrg } from '../identity/orgs';
import { handleOpenAI } from '../openai/handler';
import { createCaller } from '../trpc/root';
import { newOrg, uniqueEmail, useDatabase } from '../testing/fixtures';
import { createTRPCContext } from '../trpc/procedures';
import { handleRest } from './handler';
import { openApiDocument } from './openapi';
import { auditPageSchema, invitationSchema, memberListSchema, meSchema } from './schemas';

useDatabase();

/** The answer is exactly what the OpenAPI document says (parsing strips any field it does not list). */
const conforms = (schema: z.ZodType, body: unknown) => assert.deepEqual(schema.parse(body), body);

const base = 'http://edgetune.test/api/v1';
const rest = (path: string, init: RequestInit & { session?: string | null } = {}) =>
  handleRest(new Request(base + path, { ...init, headers: { origin: 'http://edgetune.test', ...(init.headers ?? {}) } }), { sessionUserId: init.session ?? null });
const bearer = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...extra });

test('GET /me and members; POST invitations with an admin key; a read key is refused with the reason', async () => {
  const { caller, userId, email, orgId } = await newOrg('restme');
  const admin = await createApiKey(caller, { name: 'admin key', scopes: ['admin'] });
  const reader = await createApiKey(caller, { name: 'reader', scopes: ['read'] });
  const me = await (await rest('/me', { headers: bearer(reader.key) })).json();
  conforms(meSchema, me);
  assert.equal(me.via, 'api_key');
  assert.equal(me.org.id, orgId);
  assert.equal(me.permissions.read.allowed, true);
  assert.equal(me.permissions.train.allowed, false);
  assert.match(me.permissions.train.reason, /scopes \(read\) do not allow it to launch or cancel jobs/);
  const viaSession = await (await rest('/me', { session: userId })).json();
  conforms(meSchema, viaSession);
  assert.equal(viaSession.user.email, email);
  assert.equal(viaSession.email_verified, true);
  assert.equal(viaSession.permissions.manage_billing.allowed, true);

  const members = await (await rest('/orgs/current/members', { headers: bearer(reader.key) })).json();
  conforms(memberListSchema, members);
  assert.deepEqual(members.data.map((m: { email: string; role: string }) => [m.email, m.role]), [[email, 'owner']]);

  const invitee = uniqueEmail('restinv');
  const body = JSON.stringify({ email: invitee, role: 'viewer' });
  const refused = await rest('/orgs/current/invitations', { method: 'POST', headers: bearer(reader.key), body });
  assert.equal(refused.status, 403);
  assert.match((await refused.json()).error.message, /use a key with the 'admin' scope/);
  const created = await rest('/orgs/current/invitations', { method: 'POST', headers: bearer(admin.key), body });
  assert.equal(created.status, 201);
  const inv = await created.json();
  conforms(invitationSchema, inv);
  assert.equal(inv.object, 'invitation');
  assert.equal(inv.email, invitee);
  assert.equal(Object.keys(inv).some((k) => /token|hash/i.test(k)), false);
  assert.equal((await listOutbox({ to: invitee })).length, 1);
  const bad = await rest('/orgs/current/invitations', { method: 'POST', headers: bearer(admin.key), body: JSON.stringify({ email: 'nope', role: 'viewer' }) });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.param, 'email');

  const doc = openApiDocument() as { paths: Record<string, unknown> };
  for (const p of ['/me', '/orgs/current/members', '/orgs/current/invitations', '/audit-events', '/audit-events/export']) assert.ok(doc.paths[p], `OpenAPI documents ${p}`);
});

test('audit log: recorded with actor and address, paged newest first, filtered, exported as CSV and JSONL, org-scoped', async () => {
  const { caller, orgId, email } = await newOrg('audit');
  const other = await newOrg('audit-other');
  const ip = '192.0.2.44';
  const c = { ...caller, ip, userAgent: 'audit-test/2' };
  const keys = [];
  for (let i = 0; i < 5; i++) keys.push(await createApiKey(c, { name: `key ${i}`, scopes: ['read'] }));
  await revokeApiKey(c, keys[0].id);
  await renameOrg(c, 'Audited, "Inc"');
  await createApiKey(other.caller, { name: 'theirs' });

  const admin = await createApiKey(caller, { name: 'auditor', scopes: ['admin'] });
  const page1 = await (await rest('/audit-events?limit=3', { headers: bearer(admin.key) })).json();
  conforms(auditPageSchema, page1);
  assert.equal(page1.data.length, 3);
  assert.equal(page1.has_more, true);
  assert.deepEqual(page1.data.map((e: { action: string }) => e.action), ['api_key.created', 'org.renamed', 'api_key.revoked']);
  const renamed = page1.data[1];
  assert.equal(renamed.actor.label, email);
  assert.equal(renamed.ip, ip);
  assert.equal(renamed.user_agent, 'audit-test/2');
  assert.deepEqual(renamed.data, { from: renamed.data.from, to: 'Audited, "Inc"' });
  const seen = [...page1.data];
  let cursor = page1.next_cursor;
  while (cursor) {
    const p = await (await rest(`/audit-events?limit=3&before=${cursor}`, { headers: bearer(admin.key) })).json();
    seen.push(...p.data);
    cursor = p.next_cursor;
  }
  const created = seen.filter((e) => e.action === 'api_key.created');
  assert.equal(created.length, 6);
  assert.ok(seen.every((e, i) => i === 0 || e.seq < seen[i - 1].seq), 'newest first, no repeats');
  assert.ok(!seen.some((e) => e.data?.name === 'theirs'), "another org's events stay there");
  assert.ok(!JSON.stringify(seen).includes(keys[1].key.slice(16)), 'no key secrets in the log');
  const filtered = await (await rest('/audit-events?action=api_key.revoked', { headers: bearer(admin.key) })).json();
  assert.deepEqual(filtered.data.map((e: { target: { id: string } }) => e.target.id), [keys[0].id]);
  const unknown = await rest('/audit-events?action=bogus', { headers: bearer(admin.key) });
  assert.equal(unknown.status, 400);

  const csv = await rest('/audit-events/export?format=csv', { headers: bearer(admin.key) });
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type')!, /^text\/csv/);
  assert.match(csv.headers.get('content-disposition')!, /attachment; filename="audit-org_.*\.csv"/);
  const lines = (await csv.text()).trimEnd().split('\r\n');
  assert.equal(lines[0], 'id,at,actor,actor_user_id,actor_key_id,action,target_type,target_id,outcome,ip,user_agent,data');
  assert.equal(lines.length, 1 + seen.length + 0, 'every event, once');
  const parsed = parse(lines.join('\r\n'), { columns: true }) as Record<string, string>[];
  const renameRow = parsed.find((r) => r.action === 'org.renamed')!;
  assert.equal(JSON.parse(renameRow.data).to, 'Audited, "Inc"', 'commas and quotes survive a CSV parser');
  assert.equal(renameRow.actor, email);
  assert.equal(renameRow.ip, ip);
  const jsonl = await (await rest('/audit-events/export?format=jsonl', { headers: bearer(admin.key) })).text();
  const recs = jsonl.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(recs.length, seen.length);
  assert.ok(recs.every((r, i) => i === 0 || r.at >= recs[i - 1].at), 'oldest first');
  assert.ok(recs.every((r) => r.action && r.id && !('org_id' in r)));
  assert.equal((await rest('/audit-events/export?format=xml', { headers: bearer(admin.key) })).status, 400);

  const reader = keys[1];
  const denied = await rest('/audit-events/export?format=csv', { headers: bearer(reader.key) });
  assert.equal(denied.status, 403);
  assert.match((await denied.json()).error.message, /view the audit log/);
  // tRPC paging agrees with REST.
  const t = createCaller(await createTRPCContext({ sessionUserId: caller.userId, headers: new Headers() }));
  const tp = await t.audit.list({ limit: 2 });
  assert.equal(tp.data.length, 2);
  assert.equal((await t.audit.list({ limit: 2, before: tp.nextCursor })).data[0].seq < tp.data[1].seq, true);
  await db().delete(schema.orgs).where(eq(schema.orgs.id, orgId));
});

test('API keys: expiry and revocation take effect at once, with clear errors; no secret in listings', async () => {
  const { caller } = await newOrg('keyexp');
  const k = await createApiKey(caller, { name: 'soon', scopes: ['read'], expiresAt: new Date(Date.now() + 3600_000).toISOString() });
  assert.equal((await rest('/me', { headers: bearer(k.key) })).status, 200);
  await db().update(schema.apiKeys).set({ expiresAt: new Date(Date.now() - 1) }).where(eq(schema.apiKeys.id, k.id));
  const expired = await rest('/me', { headers: bearer(k.key) });
  assert.equal(expired.status, 401);
  assert.match((await expired.json()).error.message, /This API key expired on/);

  const day = await createApiKey(caller, { name: 'through a day', expiresAt: new Date(Date.now() + 3 * 86400_000).toISOString().slice(0, 10) });
  assert.equal(day.expiresAt!.toISOString().slice(11), '00:00:00.000Z');
  await assert.rejects(createApiKey(caller, { name: 'past', expiresAt: '2001-01-01' }), /must be in the future/);
  await assert.rejects(createApiKey(caller, { name: 'junk', expiresAt: 'tomorrow' }), (e: Error & { param?: string }) => e.param === 'expiresAt');

  const r = await createApiKey(caller, { name: 'revoked', scopes: ['read', 'train'] });
  assert.equal((await handleOpenAI(new Request('http://edgetune.test/v1/files', { headers: bearer(r.key) }))).status, 200);
  await revokeApiKey(caller, r.id);
  const gone = await handleOpenAI(new Request('http://edgetune.test/v1/files', { headers: bearer(r.key) }));
  assert.equal(gone.status, 401);
  assert.match((await gone.json()).error.message, /This API key was revoked on/);

  const listed = JSON.stringify(await listApiKeys(caller, { includeRevoked: true }));
  for (const key of [k, day, r]) assert.ok(!listed.includes(key.key.slice(16)), 'secret not listed');
  const [row] = await db().select().from(schema.apiKeys).where(eq(schema.apiKeys.id, r.id));
  assert.ok(!listed.includes(row.hash), 'hash not listed');
});

test('failed API key attempts from one address are locked out with 429 and Retry-After', async () => {
  const ip = `2001:db8::${randomBytes(4).toString('hex')}`;
  const wrong = 'et_AAAAAAAAAAAA_' + 'B'.repeat(32);
  const { max } = rateLimitRules().apiKeyIp;
  for (let i = 0; i < max - 1; i++) assert.equal((await rest('/me', { headers: bearer(wrong, { 'x-edgetune-client-address': ip }) })).status, 401);
  const locked = await rest('/me', { headers: bearer(wrong, { 'x-edgetune-client-address': ip }) });
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  assert.match((await locked.json()).error.message, /^Too many failed API key attempts from your address\. Try again in \d+ minutes?\.$/);
  // While locked, even a good key from that address waits; another address is fine.
  const { caller } = await newOrg('keylock');
  const good = await createApiKey(caller, { name: 'good', scopes: ['read'] });
  assert.equal((await rest('/me', { headers: bearer(good.key, { 'x-edgetune-client-address': ip }) })).status, 429);
  const v1 = await handleOpenAI(new Request('http://edgetune.test/v1/files', { headers: bearer(good.key, { 'x-edgetune-client-address': ip }) }));
  assert.equal(v1.status, 429);
  assert.ok(v1.headers.get('retry-after'));
  assert.equal((await rest('/me', { headers: bearer(good.key, { 'x-edgetune-client-address': '198.19.0.1' }) })).status, 200);
});

test('guesses at an existing API key never lock out its owner; one address guessing is locked', async () => {
  const { caller } = await newOrg('keyguess');
  const real = await createApiKey(caller, { name: 'target', scopes: ['read'] });
  const prefix = real.key.slice(0, 'et_'.length + 12);
  const guess = `${prefix}_${'C'.repeat(32)}`;
  const { max } = rateLimitRules().apiKeyAccount;
  const from = (ip: string) => ({ 'x-edgetune-client-address': ip });
  // The reported attack: more guesses than the per-key limit, from many addresses.
  for (let i = 0; i < max + 5; i++) {
    const r = await rest('/me', { headers: bearer(guess, from(`198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`)) });
    assert.equal(r.status, 401);
    assert.match((await r.json()).error.message, /^Incorrect API key provided\./, 'a guess does not learn that the prefix exists');
  }
  assert.equal((await rest('/me', { headers: bearer(real.key, from('198.18.9.9')) })).status, 200, 'the genuine key still works');
  // One address guessing at the key reaches the (lower) per-key limit before the per-address one.
  const guesser = `2001:db8::${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < max - 1; i++) assert.equal((await rest('/me', { headers: bearer(guess, from(guesser)) })).status, 401);
  const locked = await rest('/me', { headers: bearer(guess, from(guesser)) });
  assert.equal(locked.status, 429);
  assert.match((await locked.json()).error.message, /^Too many failed attempts with this API key from your address\. Try again in \d+ minutes?\.$/);
  assert.equal((await rest('/me', { headers: bearer(guess, from(guesser)) })).status, 429, 'that address stays locked for this key');
  assert.equal((await rest('/me', { headers: bearer(real.key, from('198.18.9.10')) })).status, 200, 'the owner elsewhere is not locked out');
  // The owner's audit log shows the guesses at that key, with where they came from.
  const guesses = (await listAudit(caller, { action: 'api_key.guess_refused', limit: 100 })).data;
  assert.ok(guesses.length >= max, `${guesses.length} guesses recorded`);
  assert.ok(guesses.every((g) => g.target?.id === real.id && g.outcome === 'failure'));
  assert.ok(guesses.some((g) => g.ip === guesser));
  assert.ok(guesses.some((g) => g.ip === '198.18.0.1'));
});

test('a write signed in by cookie must come from the portal: cross-site and origin-less requests get 403', async () => {
  const { userId } = await newOrg('csrf');
  const body = JSON.stringify({ filename: 'x.jsonl', size: 10 });
  const post = (headers: Record<string, string>) =>
    handleRest(new Request(`${base}/uploads`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }), { sessionUserId: userId });
  const attempts: Record<string, string>[] = [{ origin: 'https://evil.example' }, {}, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }];
  for (const headers of attempts) {
    const r = await post(headers);
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.match((await r.json()).error.message, /^Cross-site request refused/);
  }
  assert.equal((await post({ origin: 'http://edgetune.test' })).status, 201);
  assert.equal((await post({ 'sec-fetch-site': 'same-origin' })).status, 201);
  // Reads by cookie and writes by API key are not affected.
  assert.equal((await rest('/me', { session: userId, headers: { origin: 'https://evil.example' } })).status, 200);
});

test('NUL characters in a URL or a JSON body are a 400 naming them, never a database error (found by fuzzing)', async () => {
  const { caller } = await newOrg('nul');
  const k = await createApiKey(caller, { name: 'nul', scopes: ['train'] });
  const inUrl = await rest('/jobs?limit=5&after=%F2%AD%99%B7%00x', { headers: bearer(k.key) });
  assert.equal(inUrl.status, 400);
  assert.match((await inUrl.json()).error.message, /NUL character \(%00\)/);
  const inBody = await rest('/jobs', { method: 'POST', headers: bearer(k.key, { 'content-type': 'application/json' }), body: '{"model":"lfm2-tiny","training_file":"file-\\u0000"}' });
  assert.equal(inBody.status, 400);
  assert.match((await inBody.json()).error.message, /NUL character/);
});

test('form fields beside an uploaded file are bounded in number and bytes, and the error names the field', async () => {
  const { caller } = await newOrg('formlimits');
  const k = await createApiKey(caller, { name: 'forms', scopes: ['train'] });
  const post = (fd: FormData) => rest('/files', { method: 'POST', headers: bearer(k.key), body: fd });
  const many = new FormData();
  for (let i = 0; i < 33; i++) many.append(`f${i}`, 'x');
  many.append('file', new Blob(['{}\n']), 'a.jsonl');
  const tooMany = await post(many);
  assert.equal(tooMany.status, 400);
  assert.match((await tooMany.json()).error.message, /^Too many form fields: at most 32 besides the file\.$/);
  const big = new FormData();
  big.append('dataset', 'd'.repeat(70 * 1024));
  big.append('file', new Blob(['{}\n']), 'a.jsonl');
  const tooBig = await post(big);
  assert.equal(tooBig.status, 400);
  const e = (await tooBig.json()).error;
  assert.equal(e.param, 'dataset');
  assert.match(e.message, /^Form field 'dataset' is too large: each field beside the file may hold 65536 bytes, all of them together 262144\.$/);
  const total = new FormData();
  for (let i = 0; i < 5; i++) total.append(`f${i}`, 'x'.repeat(60 * 1024));
  total.append('file', new Blob(['{}\n']), 'a.jsonl');
  const tooMuch = await post(total);
  assert.equal(tooMuch.status, 400);
  assert.equal((await tooMuch.json()).error.param, 'f4');
});
