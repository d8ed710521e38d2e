import '../testing/env';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { rateLimitRules } from '@edgetune/auth';
import { newOrg, uniqueEmail, useDatabase } from '../testing/fixtures';
import { handleTrpc } from './handler';

useDatabase();

const url = (proc: string) => `http://edgetune.test/api/trpc/${proc}`;
const post = (proc: string, input: unknown, sessionUserId: string | null, headers: Record<string, string> = {}) =>
  handleTrpc(new Request(url(proc), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ json: input }) }), { sessionUserId });
const get = (proc: string, sessionUserId: string | null, headers: Record<string, string> = {}) => handleTrpc(new Request(url(proc), { headers }), { sessionUserId });

test('over HTTP: orgs.create/switch set the et_org cookie that later requests honour', async () => {
  const { userId, orgId } = await newOrg('http');
  const created = await post('orgs.create', { name: 'HTTP second' }, userId);
  assert.equal(created.status, 200);
  const second = (await created.json()).result.data.json;
  const cookie = created.headers.get('set-cookie')!;
  assert.match(cookie, /^et_org=org_\w+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/);
  const pair = cookie.split(';')[0];
  const me = await (await get('me.get', userId, { cookie: pair })).json();
  assert.equal(me.result.data.json.org.id, second.id);
  const back = await post('orgs.switch', { orgId }, userId, { cookie: pair });
  const pair2 = back.headers.get('set-cookie')!.split(';')[0];
  assert.equal(pair2, `et_org=${orgId}`);
  assert.equal((await (await get('me.get', userId, { cookie: pair2 })).json()).result.data.json.org.id, orgId);
  const foreign = await newOrg('http-foreign');
  const refused = await post('orgs.switch', { orgId: foreign.orgId }, userId);
  assert.equal(refused.status, 404);
  assert.equal(refused.headers.get('set-cookie'), null);
});

test('over HTTP: a rate-limited procedure answers 429 with Retry-After', async () => {
  const email = uniqueEmail('http-reset');
  const headers = { 'x-edgetune-client-address': `2001:db8::${randomBytes(4).toString('hex')}` };
  for (let i = 0; i < rateLimitRules().resetAccount.max; i++) assert.equal((await post('auth.requestPasswordReset', { email }, null, headers)).status, 200);
  const limited = await post('auth.requestPasswordReset', { email }, null, headers);
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  const body = await limited.json();
  assert.match(body.error.json.message, /^Too many password reset requests\. Try again in \d+ minutes?\.$/);
  assert.ok(body.error.json.data.retryAfterSeconds > 0);
});

test('over HTTP: a NUL character in any input is a 400 naming it, never a database error', async () => {
  const { userId } = await newOrg('http-nul');
  const inBody = await post('orgs.create', { name: 'Nul\u0000Org' }, userId);
  assert.equal(inBody.status, 400);
  assert.match((await inBody.json()).error.json.message, /NUL character/);
  const anonymous = await post('auth.signUp', { email: uniqueEmail('nul'), password: 'correct horse battery staple', name: 'a\u0000b' }, null);
  assert.equal(anonymous.status, 400);
  const inQuery = await handleTrpc(new Request(`${url('me.get')}?input=${encodeURIComponent(JSON.stringify({ json: { x: '\u0000' } }))}`), { sessionUserId: userId });
  assert.equal(inQuery.status, 400);
  assert.match((await inQuery.json()).error.json.message, /NUL character/);
});
