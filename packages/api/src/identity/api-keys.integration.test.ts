import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { verifyApiKey } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { resolveCaller } from '../context';
import { newOrg, useDatabase } from '../testing/fixtures';
import { createApiKey, listApiKeys, revokeApiKey } from './api-keys';

useDatabase();

test('create shows the secret once, verify resolves the org, revoke disables it', async () => {
  const { caller, orgId } = await newOrg('keys');
  const k = await createApiKey(caller, { name: 'ci', scopes: ['read', 'train'] });
  assert.match(k.key, /^et_[A-Za-z0-9]{12}_[A-Za-z0-9]{32}$/);
  const [row] = await db().select().from(schema.apiKeys).where(eq(schema.apiKeys.id, k.id));
  assert.ok(!JSON.stringify(row).includes(k.key.slice(16)), 'secret not stored');
  const listed = await listApiKeys(caller);
  assert.equal(listed.length, 1);
  assert.ok(!('key' in listed[0]));
  const v = await verifyApiKey(k.key);
  assert.deepEqual(v, { orgId, keyId: k.id, scopes: ['read', 'train'] });
  const [used] = await db().select().from(schema.apiKeys).where(eq(schema.apiKeys.id, k.id));
  assert.ok(used.lastUsedAt, 'last_used_at updated');
  const c = await resolveCaller({ authorization: `Bearer ${k.key}` });
  assert.equal(c?.orgId, orgId);
  assert.equal(c?.via, 'api_key');
  // a tampered secret with the same prefix does not verify
  assert.equal(await verifyApiKey(k.key.slice(0, -1) + (k.key.endsWith('a') ? 'b' : 'a')), null);
  await revokeApiKey(caller, k.id);
  assert.equal(await verifyApiKey(k.key), null);
  await assert.rejects(resolveCaller({ authorization: `Bearer ${k.key}` }), (e: DomainError) => e.code === 'unauthenticated');
  assert.equal((await listApiKeys(caller)).length, 0);
});

test('expired and unknown keys do not verify', async () => {
  const { caller } = await newOrg('expired');
  const k = await createApiKey(caller, { name: 'old' });
  await db().update(schema.apiKeys).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.apiKeys.id, k.id));
  assert.equal(await verifyApiKey(k.key), null);
  assert.equal(await verifyApiKey('et_AAAAAAAAAAAA_' + 'B'.repeat(32)), null);
  assert.equal(await verifyApiKey('garbage'), null);
});

test('members cannot manage keys; another org cannot revoke', async () => {
  const a = await newOrg('ka');
  const b = await newOrg('kb');
  await assert.rejects(createApiKey({ ...a.caller, role: 'member' }, { name: 'x' }), (e: DomainError) => e.code === 'forbidden');
  const k = await createApiKey(a.caller, { name: 'x' });
  await assert.rejects(revokeApiKey(b.caller, k.id), (e: DomainError) => e.code === 'not_found');
  assert.ok(await verifyApiKey(k.key));
});
