import { billingWebUrl } from '../testing/billing-env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import Stripe from 'stripe';
import { DomainError, newId, type DatasetReport } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { bytes, goodJsonl, newOrg, useDatabase } from '../testing/fixtures';
import { uploadFile } from '../datasets/files';
import { createJob, estimateJob, getJobCost } from '../jobs/jobs';
import { setJobStatus } from '../jobs/records';
import { createPool } from '../pools/pools';
import { createFleet } from '../fleets/fleets';
import { enrollDevice } from '../fleets/enrollment';
import { createApiKey } from '../identity/api-keys';
import { handleRest } from '../rest/handler';
import { handleOpenAI } from '../openai/handler';
import { getBilling, listInvoices, openCustomerPortal, setSpendingCap, startCheckout } from './billing';
import { meterDailyUsage, pushCredits, reportUsage } from './metering';
import { handleStripeWebhook } from './webhooks';

useDatabase();

const secret = process.env.STRIPE_WEBHOOK_SECRET!;
const signer = new Stripe('sk_test_123');

type Org = Awaited<ReturnType<typeof newOrg>>;

/** A Stripe event as Stripe signs and sends it. */
function signedEvent(type: string, object: Record<string, unknown>, created: number, id = `evt_${newId('usage').slice(4)}`) {
  const payload = JSON.stringify({ id, object: 'event', api_version: '2025-01-01', created, type, livemode: false, pending_webhooks: 1, data: { object } });
  return { id, payload, header: signer.webhooks.generateTestHeaderString({ payload, secret }) };
}

const deliver = (e: { payload: string; header: string }) =>
  handleStripeWebhook(new Request('http://edgetune.test/api/webhooks/stripe', { method: 'POST', body: e.payload, headers: { 'stripe-signature': e.header, 'content-type': 'application/json' } }));

const subscription = (org: Org, status: string, customer = `cus_test_${org.orgId.slice(4, 20)}`) => ({
  id: `sub_${org.orgId.slice(4, 14)}`,
  object: 'subscription',
  customer,
  status,
  metadata: { org_id: org.orgId, plan: 'payg' },
});

const now = () => Math.floor(Date.now() / 1000);

/** A file whose validation report counted `tokens` with lfm2-tiny's tokenizer (the test data has no tokenizer). */
async function fileWithTokens(org: Org, tokens: number) {
  const f = await uploadFile(org.caller, { filename: `t-${newId('usage').slice(4, 10)}.jsonl`, purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const report = f.report as DatasetReport;
  const counted = { ...report, stats: { ...report.stats, tokens: { total: tokens, mean: 1, p50: 1, p95: 1, max: 1, histogram: [] }, tokenizer: { baseModel: 'lfm2-tiny', available: true } } };
  await db().update(schema.files).set({ report: counted }).where(eq(schema.files.id, f.id));
  return f;
}

const is = (code: string, param: string, ...res: RegExp[]) => (e: unknown) => {
  assert.ok(e instanceof DomainError, String(e));
  assert.equal(e.code, code, e.message);
  assert.equal(e.param, param, e.message);
  for (const re of res) assert.match(e.message, re);
  return true;
};

/** Puts the organization on pay as you go the way Stripe does: a signed subscription event. */
async function subscribe(org: Org): Promise<void> {
  const [account] = await db().select().from(schema.billingAccounts).where(eq(schema.billingAccounts.orgId, org.orgId));
  const r = await deliver(signedEvent('customer.subscription.created', subscription(org, 'active', account?.stripeCustomerId ?? undefined), now()));
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal((await getBilling(org.caller)).plan.id, 'payg');
}

const jobBody = (fileId: string) => ({ model: 'lfm2-tiny', training_file: fileId, hyperparameters: { n_epochs: 3 } });

test('free plan: every quota refuses past its limit with its name, limit and use; nothing is written', async () => {
  const org = await newOrg('billing-free');
  const b = await getBilling(org.caller);
  assert.equal(b.enabled, true);
  assert.equal(b.plan.id, 'free');
  assert.deepEqual(
    b.quotas.map((q) => [q.key, q.limit, q.used]),
    [
      ['training_tokens_per_month', 2_000_000, 0],
      ['stored_bytes', 5 * 1024 ** 3, 0],
      ['concurrent_jobs', 1, 0],
      ['fleet_devices', 10, 0],
      ['org_pools', 1, 0],
    ],
  );

  // Training tokens: 3 epochs of 700,000 tokens pass the month's 2,000,000.
  const big = await fileWithTokens(org, 700_000);
  const est = await estimateJob(org.caller, jobBody(big.id));
  assert.equal(est.trainingTokens, 2_100_000);
  await assert.rejects(createJob(org.caller, jobBody(big.id)), is('quota_exceeded', 'training_tokens_per_month', /2,000,000 tokens/, /0 tokens in use/, /2,100,000 tokens more/));

  // Concurrent jobs: one running job is the free plan's limit (429: wait for it).
  const small = await fileWithTokens(org, 100);
  const running = newId('job');
  await db().insert(schema.jobs).values({
    id: running, orgId: org.orgId, baseModel: 'lfm2-tiny', trainingFileId: small.id, hyperparameters: {}, targetDevices: ['x86_64-avx2'], seed: 1, status: 'running', workflowId: `fine-tune-${running}`,
  });
  await assert.rejects(createJob(org.caller, jobBody(small.id)), is('rate_limited', 'concurrent_jobs', /concurrent fine-tuning jobs/, /is 1 job; 1 job in use/));
  const jobs = await db().select({ id: schema.jobs.id }).from(schema.jobs).where(eq(schema.jobs.orgId, org.orgId));
  assert.deepEqual(jobs.map((j) => j.id), [running], 'a refused launch writes no job');

  // Organization pools: one.
  await createPool(org.caller, { name: 'lab-one' });
  await assert.rejects(createPool(org.caller, { name: 'lab-two' }), is('quota_exceeded', 'org_pools', /organization pools/, /is 1 pool;/));
  assert.equal((await db().select().from(schema.pools).where(eq(schema.pools.orgId, org.orgId))).length, 1);

  // An enterprise contract's own limits: stored bytes and fleet devices.
  const contract = { plan: 'enterprise' as const, customTerms: { quotas: { stored_bytes: 1000, fleet_devices: 1 } } };
  await db().insert(schema.billingAccounts).values({ orgId: org.orgId, ...contract }).onConflictDoUpdate({ target: schema.billingAccounts.orgId, set: contract });
  await assert.rejects(
    uploadFile(org.caller, { filename: 'more.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) }),
    is('quota_exceeded', 'stored_bytes', /stored data/, /Enterprise plan/),
  );
  const { fleet } = await createFleet(org.caller, { name: `fleet-${newId('usage').slice(4, 10).toLowerCase()}` });
  const [fleetRow] = await db().select().from(schema.fleets).where(eq(schema.fleets.id, fleet.id));
  await enrollDevice({ kind: 'enrollment', fleet: fleetRow }, fleet.id, { name: 'dev-1', profile: 'x86_64-avx2', fingerprint: {} });
  await assert.rejects(enrollDevice({ kind: 'enrollment', fleet: fleetRow }, fleet.id, { name: 'dev-2', profile: 'x86_64-avx2', fingerprint: {} }), is('quota_exceeded', 'fleet_devices', /is 1 device; 1 device in use/));
  assert.equal((await db().select().from(schema.fleetDevices).where(eq(schema.fleetDevices.orgId, org.orgId))).length, 1);
});

test('webhooks: signature checked, each event once, out-of-order events never roll the subscription back', async () => {
  const org = await newOrg('billing-webhooks');
  const t0 = now();
  const created = signedEvent('customer.subscription.created', subscription(org, 'active'), t0);

  const bad = await deliver({ payload: created.payload, header: created.header.replace(/v1=[0-9a-f]/, 'v1=x') });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error.message, /signature/i);
  const tampered = await deliver({ payload: created.payload.replace('"active"', '"canceled"'), header: created.header });
  assert.equal(tampered.status, 400, 'a changed body fails the signature');
  const unsigned = await handleStripeWebhook(new Request('http://edgetune.test/api/webhooks/stripe', { method: 'POST', body: created.payload }));
  assert.equal(unsigned.status, 400);
  assert.equal((await getBilling(org.caller)).plan.id, 'free', 'nothing applied from a bad delivery');

  const first = await deliver(created);
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { received: true, applied: true });
  const replay = await deliver(created);
  assert.deepEqual(await replay.json(), { received: true, duplicate: true, applied: false });
  let b = await getBilling(org.caller);
  assert.equal(b.plan.id, 'payg');
  assert.equal(b.subscription.status, 'active');

  // Stripe sent an older update late: it is recorded but does not move the state back.
  const stale = await deliver(signedEvent('customer.subscription.updated', subscription(org, 'incomplete'), t0 - 60));
  assert.deepEqual(await stale.json(), { received: true, applied: false });
  assert.equal((await getBilling(org.caller)).subscription.status, 'active');

  // A newer cancellation does: back to the free plan.
  const deleted = await deliver(signedEvent('customer.subscription.deleted', subscription(org, 'canceled'), t0 + 60));
  assert.deepEqual(await deleted.json(), { received: true, applied: true });
  b = await getBilling(org.caller);
  assert.equal(b.plan.id, 'free');
  assert.equal(b.subscription.status, 'canceled');
  const recorded = await db().select().from(schema.stripeEvents).where(eq(schema.stripeEvents.orgId, org.orgId));
  assert.equal(recorded.length, 3, 'created, the stale update and the deletion; the replay is not a second row');
});

test('Stripe pages: one customer per organization, Checkout, the Customer Portal and invoices', async () => {
  const org = await newOrg('billing-stripe');
  const checkout = await startCheckout(org.caller);
  assert.match(checkout.url, /^https:\/\/checkout\.stripe\.com\//);
  const [account] = await db().select().from(schema.billingAccounts).where(eq(schema.billingAccounts.orgId, org.orgId));
  assert.match(account.stripeCustomerId ?? '', /^cus_/);
  await startCheckout(org.caller);
  const portal = await openCustomerPortal(org.caller);
  assert.match(portal.url, /^https:\/\//);
  const [again] = await db().select().from(schema.billingAccounts).where(eq(schema.billingAccounts.orgId, org.orgId));
  assert.equal(again.stripeCustomerId, account.stripeCustomerId, 'the first billing action made the customer; later ones reuse it');
  const invoices = await listInvoices(org.caller);
  assert.ok(invoices.length >= 1);
  assert.match(invoices[0].id, /^in_/);
  assert.equal(typeof invoices[0].amountDueMinor, 'number');

  // manage_billing gates all of it: an admin may not.
  const admin = { ...org.caller, role: 'admin' as const };
  for (const call of [getBilling, startCheckout, openCustomerPortal, listInvoices]) {
    await assert.rejects(call(admin), (e: DomainError) => e.code === 'forbidden' && /cannot manage billing/.test(e.message));
  }
  await assert.rejects(setSpendingCap(admin, { monthly_cap: 1 }), (e: DomainError) => e.code === 'forbidden');
});

test('estimate and spending cap: priced before launch, refused past the cap with the numbers', async () => {
  const org = await newOrg('billing-cap');
  await subscribe(org);
  // 6,000 tokens x 3 epochs at 50,000 cents per million tokens (TRAINING_PRICES of the test) = 900 cents.
  const f = await fileWithTokens(org, 6000);
  let est = await estimateJob(org.caller, jobBody(f.id));
  assert.equal(est.trainingTokens, 18_000);
  assert.equal(est.estimatedCostMinor, 900);
  assert.deepEqual(est.price, { perMillionTokensMinor: 50_000, plan: 'Pay as you go' });
  assert.equal(est.spendingCap, null);
  assert.equal(est.exceedsCap, false);

  await assert.rejects(setSpendingCap(org.caller, { monthly_cap: -5 }), (e: DomainError) => e.code === 'invalid_request' && e.param === 'monthly_cap');
  await setSpendingCap(org.caller, { monthly_cap: 500 });
  est = await estimateJob(org.caller, jobBody(f.id));
  assert.deepEqual(est.spendingCap, { monthlyCapMinor: 500, spentThisMonthMinor: 0, remainingMinor: 500 });
  assert.equal(est.exceedsCap, true);
  await assert.rejects(createJob(org.caller, jobBody(f.id)), is('quota_exceeded', 'spending_cap', /\$9\.00/, /\$5\.00/, /18,000 training tokens/));
  assert.equal((await db().select().from(schema.jobs).where(eq(schema.jobs.orgId, org.orgId))).length, 0);

  // The same refusal through REST (402, the platform's error) and the OpenAI-compatible API (OpenAI's shape).
  const { key } = await createApiKey(org.caller, { name: 'billing' });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const rest = await handleRest(new Request('http://edgetune.test/api/v1/jobs', { method: 'POST', headers, body: JSON.stringify(jobBody(f.id)) }), { sessionUserId: null });
  assert.equal(rest.status, 402);
  const restBody = await rest.json();
  assert.equal(restBody.error.code, 'quota_exceeded');
  assert.equal(restBody.error.param, 'spending_cap');
  const openai = await handleOpenAI(new Request('http://edgetune.test/v1/fine_tuning/jobs', { method: 'POST', headers, body: JSON.stringify({ model: 'lfm2-tiny', training_file: f.id, hyperparameters: { n_epochs: 3 } }) }));
  assert.equal(openai.status, 402);
  const oa = await openai.json();
  assert.equal(oa.error.type, 'insufficient_quota');
  assert.equal(oa.error.code, 'quota_exceeded');

  // The estimate over REST, with the same body as creating the job.
  const r = await handleRest(new Request('http://edgetune.test/api/v1/jobs/estimate', { method: 'POST', headers, body: JSON.stringify(jobBody(f.id)) }), { sessionUserId: null });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.training_tokens, 18_000);
  assert.equal(body.estimated_cost, 9);
  assert.equal(body.exceeds_cap, true);
  assert.deepEqual(body.spending_cap, { monthly_cap: 5, spent_this_month: 0, remaining: 5 });

  // A higher cap lets it fit; spending this month counts against it.
  await setSpendingCap(org.caller, { monthly_cap: 2000 });
  assert.equal((await estimateJob(org.caller, jobBody(f.id))).exceedsCap, false);
  const earlier = newId('job');
  await db().insert(schema.jobs).values({
    id: earlier, orgId: org.orgId, baseModel: 'lfm2-tiny', trainingFileId: f.id, hyperparameters: {}, targetDevices: ['x86_64-avx2'], seed: 1, status: 'succeeded', workflowId: `fine-tune-${earlier}`,
  });
  await db().insert(schema.usageRecords).values({ id: newId('usage'), orgId: org.orgId, jobId: earlier, kind: 'training_tokens', quantity: 30_000 });
  est = await estimateJob(org.caller, jobBody(f.id));
  assert.equal(est.spendingCap?.spentThisMonthMinor, 1500);
  assert.equal(est.exceedsCap, true, '1500 spent + 900 estimated passes 2000');
  await setSpendingCap(org.caller, { monthly_cap: null });
  assert.equal((await estimateJob(org.caller, jobBody(f.id))).spendingCap, null);
});

test('usage reaches Stripe once per record; free-plan usage is marked, not billed; daily storage is metered once a day', async () => {
  const paid = await newOrg('billing-meter');
  await startCheckout(paid.caller); // makes the Stripe customer
  await subscribe(paid);
  const free = await newOrg('billing-meter-free');
  const rows = [
    { id: newId('usage'), orgId: paid.orgId, kind: 'training_tokens', quantity: 1234 },
    { id: newId('usage'), orgId: paid.orgId, kind: 'benchmark_device_seconds', quantity: 90 },
    { id: newId('usage'), orgId: free.orgId, kind: 'training_tokens', quantity: 99 },
  ];
  await db().insert(schema.usageRecords).values(rows);
  // Other suites' usage waits in the same table (oldest first): pass until it is all settled.
  for (let i = 0; i < 100; i++) {
    const r = await reportUsage(500);
    if (r.reported + r.notBillable + r.failed === 0) break;
  }
  const after = await db().select().from(schema.usageRecords).where(eq(schema.usageRecords.id, rows[0].id));
  assert.ok(after[0].reportedAt, 'reported');
  assert.equal(after[0].reportError, null);
  assert.equal(after[0].reportAttempts, 1);
  const [freeRow] = await db().select().from(schema.usageRecords).where(eq(schema.usageRecords.id, rows[2].id));
  assert.ok(freeRow.reportedAt);
  assert.match(freeRow.reportError ?? '', /free plan/);
  // A second pass sends nothing again.
  await reportUsage(500);
  const [twice] = await db().select().from(schema.usageRecords).where(eq(schema.usageRecords.id, rows[0].id));
  assert.equal(twice.reportAttempts, 1);

  // Daily: the stored data of yesterday, once however often the loop runs.
  await uploadFile(paid.caller, { filename: 'd.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  await meterDailyUsage();
  await meterDailyUsage();
  const daily = await db()
    .select()
    .from(schema.usageRecords)
    .where(and(eq(schema.usageRecords.orgId, paid.orgId), eq(schema.usageRecords.kind, 'storage_gb_days')));
  assert.equal(daily.length, 1);
  assert.equal(daily[0].quantity, 1, 'a few bytes round up to 1 GB-day');
  assert.equal(daily[0].period, new Date(Date.now() - 86_400_000).toISOString().slice(0, 10));
});

test("a job the platform failed is credited its cost automatically; a data failure is not; credits reach Stripe", async () => {
  const org = await newOrg('billing-credit');
  await startCheckout(org.caller);
  await subscribe(org);
  const f = await fileWithTokens(org, 100);
  const job = async (trainedTokens: number) => {
    const id = newId('job');
    await db().insert(schema.jobs).values({
      id, orgId: org.orgId, baseModel: 'lfm2-tiny', trainingFileId: f.id, hyperparameters: {}, targetDevices: ['x86_64-avx2'], seed: 1, status: 'running', workflowId: `fine-tune-${id}`, trainedTokens,
    });
    await db().insert(schema.jobStages).values({ jobId: id, orgId: org.orgId, stage: 'benchmark', device: 'x86_64-avx2', variant: 'Q4_0', state: 'succeeded', startedAt: new Date(Date.now() - 120_000), finishedAt: new Date(), durationMs: 120_000 });
    return id;
  };
  const platform = await job(40_000);
  await setJobStatus({ jobId: platform, orgId: org.orgId, status: 'failed', error: { code: 'internal_error', message: 'the device pool vanished', param: null }, at: Date.now() });
  const cost = await getJobCost(org.caller, platform);
  // 40,000 tokens at 50,000 cents per million = 2000 cents; 2 device-minutes at 2 cents = 4 cents.
  assert.deepEqual(
    cost.lines.map((l) => [l.item, l.quantity, l.amountMinor]),
    [
      ['training', 40_000, 2000],
      ['benchmarks', 2, 4],
      ['storage', 0, 0],
    ],
  );
  assert.equal(cost.totalMinor, 2004);
  assert.equal(cost.credit?.amountMinor, 2004);
  assert.match(cost.credit?.reason ?? '', /platform's reasons \(internal_error\)/);
  assert.equal(cost.netMinor, 0);
  // The activity retried after a crash: still one credit.
  await setJobStatus({ jobId: platform, orgId: org.orgId, status: 'failed', error: { code: 'internal_error', message: 'again', param: null }, at: Date.now() });
  assert.equal((await db().select().from(schema.billingCredits).where(eq(schema.billingCredits.jobId, platform))).length, 1);

  const data = await job(40_000);
  await setJobStatus({ jobId: data, orgId: org.orgId, status: 'failed', error: { code: 'invalid_training_file', message: 'line 3 is not JSON', param: 'training_file' }, at: Date.now() });
  const dataCost = await getJobCost(org.caller, data);
  assert.equal(dataCost.totalMinor, 2004);
  assert.equal(dataCost.credit, null, "the customer's data failed it: no credit");

  const b = await getBilling(org.caller);
  assert.deepEqual(b.credits.map((c) => [c.jobId, c.amountMinor]), [[platform, 2004]]);
  assert.equal(b.spentThisMonthMinor, 2004, 'two jobs of 2004 cents, one credited');

  assert.ok((await pushCredits()) >= 1);
  const [credit] = await db().select().from(schema.billingCredits).where(eq(schema.billingCredits.jobId, platform));
  assert.match(credit.stripeTransactionId ?? '', /^cbtxn_/);

  // Another organization cannot read the cost of this one's job.
  const other = await newOrg('billing-credit-other');
  await assert.rejects(getJobCost(other.caller, platform), (e: DomainError) => e.code === 'not_found');
});

test('the billing web app: webhook endpoint over HTTP, and /billing for owners only', async () => {
  const org = await newOrg('billing-http');
  const e = signedEvent('customer.subscription.created', subscription(org, 'active'), now());
  const post = (body: string, sig: string) => fetch(`${billingWebUrl}/api/webhooks/stripe`, { method: 'POST', body, headers: { 'stripe-signature': sig, 'content-type': 'application/json' } });
  assert.equal((await post(e.payload, 't=1,v1=00')).status, 400);
  const ok = await post(e.payload, e.header);
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.deepEqual(await ok.json(), { received: true, applied: true });
  assert.deepEqual(await (await post(e.payload, e.header)).json(), { received: true, duplicate: true, applied: false });
  assert.equal((await getBilling(org.caller)).plan.id, 'payg');

  // API keys act at most as admins, who cannot manage billing: 403 with the reason.
  const { key } = await createApiKey(org.caller, { name: 'http', scopes: ['read', 'train'] });
  const r = await fetch(`${billingWebUrl}/api/v1/billing`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(r.status, 403);
  assert.match((await r.json()).error.message, /do not allow it to manage billing/);
});
