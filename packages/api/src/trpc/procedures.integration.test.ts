import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { createCaller } from './root';
import { markVerified, uniqueEmail, useDatabase } from '../testing/fixtures';
import { createTRPCContext } from './procedures';

useDatabase();

const ctx = (sessionUserId: string | null, headers: Record<string, string> = {}) => createTRPCContext({ sessionUserId, headers: new Headers(headers) });

test('tRPC: sign up, me, api keys; domain errors map to tRPC codes', async () => {
  const anon = createCaller(await ctx(null));
  const email = uniqueEmail('trpc');
  const r = await anon.auth.signUp({ email, password: 'correct horse battery', orgName: 'tRPC Org' });
  await assert.rejects(anon.auth.signUp({ email, password: 'correct horse battery' }), (e: TRPCError) => e.code === 'CONFLICT');
  await assert.rejects(anon.me.get(), (e: TRPCError) => e.code === 'UNAUTHORIZED');

  let user = createCaller(await ctx(r.user.id));
  const who = await user.me.get();
  assert.equal(who.org.name, 'tRPC Org');
  assert.equal(who.role, 'owner');
  assert.equal(who.permissions.manage_keys.allowed, false, 'not before the address is verified');
  await assert.rejects(user.apiKeys.create({ name: 'portal' }), (e: TRPCError) => e.code === 'FORBIDDEN' && /Verify your e-mail address first/.test(e.message));
  await markVerified(r.user.id);
  user = createCaller(await ctx(r.user.id));
  const k = await user.apiKeys.create({ name: 'portal' });
  assert.equal((await user.apiKeys.list()).length, 1);
  await assert.rejects(user.files.get({ id: 'file-nope' }), (e: TRPCError) => e.code === 'NOT_FOUND');
  await assert.rejects(user.jobs.create({ model: 'nope', training_file: 'file-x' }), (e: TRPCError) => e.code === 'BAD_REQUEST');

  const viaKey = createCaller(await ctx(null, { authorization: `Bearer ${k.key}` }));
  assert.equal((await viaKey.me.get()).via, 'api_key');
  assert.deepEqual((await viaKey.files.list()).data, []);
  await user.apiKeys.revoke({ id: k.id });
  await assert.rejects(viaKey.files.list(), (e: TRPCError) => e.code === 'UNAUTHORIZED');
});
