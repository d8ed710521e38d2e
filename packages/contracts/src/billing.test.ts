import assert from 'node:assert/strict';
import { test } from 'node:test';
import { customTermsSchema, effectivePlan, plans, quotaKeys } from './billing';

test('plans are data: every plan names every quota; paid plans price usage, the free one does not', () => {
  for (const p of Object.values(plans)) assert.deepEqual(Object.keys(p.quotas).sort(), [...quotaKeys].sort(), p.id);
  assert.equal(plans.free.prices.trainingPriceFactor, 0);
  assert.ok(plans.payg.prices.benchmarkPerDeviceMinuteMinor > 0);
  assert.equal(plans.payg.quotas.training_tokens_per_month, null, 'pay as you go meters tokens instead of capping them');
});

test("an enterprise contract overrides only what it names, and null lifts a quota", () => {
  const terms = customTermsSchema.parse({ quotas: { concurrent_jobs: 200, stored_bytes: null }, prices: { trainingPriceFactor: 0.5 } });
  const p = effectivePlan('enterprise', terms);
  assert.equal(p.quotas.concurrent_jobs, 200);
  assert.equal(p.quotas.stored_bytes, null);
  assert.equal(p.quotas.org_pools, plans.enterprise.quotas.org_pools);
  assert.equal(p.prices.trainingPriceFactor, 0.5);
  assert.equal(p.prices.storagePerGbDayMinor, plans.enterprise.prices.storagePerGbDayMinor);
  assert.equal(effectivePlan('payg', null), plans.payg);
  assert.throws(() => customTermsSchema.parse({ quotas: { gpus: 1 } }));
  assert.throws(() => customTermsSchema.parse({ quotas: { concurrent_jobs: -1 } }));
});
