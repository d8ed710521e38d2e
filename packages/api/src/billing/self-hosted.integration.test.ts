/**
 * A self-hosted install: no STRIPE_SECRET_KEY, so billing is off and only the operator's QUOTAS
 * limit anything (here: no organization pools, two concurrent jobs).
 */
import '../testing/self-hosted-env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { newOrg, useDatabase } from '../testing/fixtures';
import { createPool } from '../pools/pools';
import { getBilling, openCustomerPortal, startCheckout } from './billing';
import { settleBilling } from './metering';

useDatabase();

test('billing off: the configured quotas apply, Stripe pages say billing is off, nothing is reported', async () => {
  const org = await newOrg('self-hosted');
  const b = await getBilling(org.caller);
  assert.equal(b.enabled, false);
  assert.equal(b.plan.name, 'Self-hosted');
  const limits = Object.fromEntries(b.quotas.map((q) => [q.key, q.limit]));
  assert.deepEqual(limits, { training_tokens_per_month: null, stored_bytes: null, concurrent_jobs: 2, fleet_devices: null, org_pools: 0 });

  await assert.rejects(createPool(org.caller, { name: 'lab' }), (e: DomainError) => {
    assert.equal(e.code, 'quota_exceeded');
    assert.equal(e.param, 'org_pools');
    assert.match(e.message, /Self-hosted plan is 0 pools; 0 pools in use, and this needs 1 pool more\. Ask the operator of this installation to raise it \(QUOTAS\)\./);
    return true;
  });
  assert.equal((await db().select().from(schema.pools).where(eq(schema.pools.orgId, org.orgId))).length, 0);

  for (const open of [startCheckout, openCustomerPortal]) {
    await assert.rejects(open(org.caller), (e: DomainError) => e.code === 'invalid_request' && /Billing is off on this installation/.test(e.message));
  }
  assert.equal((await db().select().from(schema.billingAccounts).where(eq(schema.billingAccounts.orgId, org.orgId))).length, 0, 'no account row is made for nothing');
  assert.deepEqual(await settleBilling(), { reported: 0, notBillable: 0, failed: 0, daily: 0, credits: 0 });
});
