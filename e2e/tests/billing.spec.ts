import { expect, test, type APIRequestContext } from '@playwright/test';
import Stripe from 'stripe';
import { examples, toJsonl } from './dataset';
import { linkFromOutbox } from './outbox';

/**
 * Billing as a new customer meets it. BASE_URL's web app runs with billing off (the self-hosted
 * default), so these tests use the second web app of the test stack, which has billing on against
 * stripe-mock and shares BASE_URL's database; every page is opened by its absolute URL.
 */
const billingUrl = (process.env.EDGETUNE_TEST_BILLING_URL ?? '').replace(/\/+$/, '');
const webhookSecret = process.env.EDGETUNE_TEST_STRIPE_WEBHOOK_SECRET ?? '';
/** What the billing app charges for lfm2-tiny's training, in cents per million tokens (TRAINING_PRICES). */
const tinyPrice = Number(/(?:^|,)lfm2-tiny=(\d+)/.exec(process.env.EDGETUNE_TEST_TRAINING_PRICES ?? '')?.[1] ?? 50_000);

test.skip(!billingUrl || !webhookSecret, 'EDGETUNE_TEST_BILLING_URL and EDGETUNE_TEST_STRIPE_WEBHOOK_SECRET name the web app with billing on');

const url = (path: string) => `${billingUrl}${path}`;
/** For waitForURL: `path` on the billing app (not on BASE_URL's). */
const at = (path: string) => (u: URL) => u.origin === new URL(billingUrl).origin && u.pathname === path;

// Only its webhook signing is used, which makes no request: the key is never checked.
const stripe = new Stripe('sk_test_123');

/** Delivers `payload` as Stripe does, signed with `secret`. */
function postWebhook(request: APIRequestContext, payload: string, secret: string) {
  const signature = stripe.webhooks.generateTestHeaderString({ payload, secret });
  return request.post(url('/api/webhooks/stripe'), { data: payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } });
}

test('billing: plan, quotas and cap; subscribe through Checkout and the webhook; owners only; the job estimate', async ({ page, browser, request }) => {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const email = `billing-${stamp}@example.com`;
  const memberEmail = `billing-member-${stamp}@example.com`;
  const password = `pw-${stamp}-Secret!`;
  const orgName = `Billing Co ${stamp}`;

  await test.step('a new organization starts on the Free plan; set a monthly cap and remove it', async () => {
    await page.goto(url('/signup'));
    await page.getByTestId('signup-org').fill(orgName);
    await page.getByTestId('signup-email').fill(email);
    await page.getByTestId('signup-password').fill(password);
    await page.getByTestId('signup-submit').click();
    await page.waitForURL(at('/jobs'));
    await page.getByTestId('nav-billing').click();
    await page.waitForURL(at('/billing'));
    await expect(page.getByTestId('billing-plan')).toHaveText('Free');
    await expect(page.getByTestId('billing-subscription-status')).toHaveText('none');
    await expect(page.getByTestId('billing-spent')).toHaveText('$0.00');
    const concurrent = page.getByTestId('billing-quotas').getByTestId('billing-quota-row').filter({ hasText: 'concurrent fine-tuning jobs' });
    await expect(concurrent.getByTestId('billing-quota-limit')).toHaveText('1');
    await expect(concurrent.getByTestId('billing-quota-used')).toHaveText('0');

    await expect(page.getByTestId('billing-cap')).toHaveText('No cap');
    await page.getByTestId('billing-cap-input').fill('5');
    await page.getByTestId('billing-cap-save').click();
    await expect(page.getByTestId('billing-cap')).toHaveText('$5.00');
    await page.reload();
    await expect(page.getByTestId('billing-cap')).toHaveText('$5.00');
    await expect(page.getByTestId('billing-cap-input')).toHaveValue('5.00');
    await page.getByTestId('billing-cap-remove').click();
    await expect(page.getByTestId('billing-cap')).toHaveText('No cap');
    await expect(page.getByTestId('billing-cap-remove')).toHaveCount(0);
  });

  await test.step('Subscribe opens Stripe Checkout', async () => {
    await page.route('https://checkout.stripe.com/**', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Stripe Checkout</h1>' }));
    await page.getByTestId('billing-checkout').click();
    await page.waitForURL(/^https:\/\/checkout\.stripe\.com\//);
    await expect(page.locator('h1')).toHaveText('Stripe Checkout');
  });

  await test.step("Stripe's webhook moves the organization to pay as you go, once; a bad signature is refused", async () => {
    const me = await page.request.get(url('/api/v1/me'));
    expect(me.status()).toBe(200);
    const orgId: string = (await me.json()).org.id;
    // The portal does not expose the organization's Stripe customer: the event names a customer
    // linked to no organization, and the handler goes by the subscription's metadata.org_id.
    const created = Math.floor(Date.now() / 1000);
    const event = (id: string) =>
      JSON.stringify({
        id,
        object: 'event',
        type: 'customer.subscription.created',
        created,
        livemode: false,
        data: { object: { id: `sub_e2e_${stamp}`, object: 'subscription', customer: `cus_e2e_${stamp}`, status: 'active', created, metadata: { org_id: orgId, plan: 'payg' } } },
      });
    const payload = event(`evt_e2e_${stamp}`);
    const first = await postWebhook(request, payload, webhookSecret);
    expect(first.status()).toBe(200);
    expect(await first.json()).toMatchObject({ received: true, applied: true });
    const replay = await postWebhook(request, payload, webhookSecret);
    expect(replay.status()).toBe(200);
    expect(await replay.json()).toMatchObject({ received: true, duplicate: true, applied: false });
    const forged = await postWebhook(request, event(`evt_e2e_forged_${stamp}`), 'whsec_not_the_endpoint_secret');
    expect(forged.status()).toBe(400);

    await page.goto(url('/billing'));
    await expect(page.getByTestId('billing-plan')).toHaveText('Pay as you go');
    await expect(page.getByTestId('billing-subscription-status')).toHaveText('active');
    await expect(page.getByTestId('billing-checkout')).toHaveCount(0);
    await expect(page.getByTestId('billing-portal')).toBeVisible();
    await expect(page.getByTestId('billing-invoices')).toBeVisible();
  });

  await test.step('a member may not manage billing: no Billing link, and /billing says why', async () => {
    // Inviting needs a verified address.
    await page.goto(url(await linkFromOutbox(email, '/verify-email?token=')));
    await expect(page.getByTestId('verify-email-success')).toContainText(email);
    await page.goto(url('/jobs'));
    await page.getByTestId('nav-members').click();
    await page.waitForURL(at('/settings/members'));
    await page.getByTestId('invite-email-input').fill(memberEmail);
    await page.getByTestId('invite-role-select').selectOption('member');
    await page.getByTestId('invite-submit').click();
    await expect(page.getByTestId('invite-sent')).toContainText(memberEmail);
    const invitePath = await linkFromOutbox(memberEmail, '/invite/');
    const other = await browser.newContext();
    try {
      const page2 = await other.newPage();
      await page2.goto(url(invitePath));
      await page2.getByTestId('invite-signup').click();
      await page2.waitForURL(/\/signup\?/);
      await expect(page2.getByTestId('signup-email')).toHaveValue(memberEmail);
      await page2.getByTestId('signup-password').fill(password);
      await page2.getByTestId('signup-submit').click();
      await page2.waitForURL((u) => u.pathname === invitePath);
      await page2.getByTestId('invite-accept').click();
      await page2.waitForURL(at('/jobs'));
      await expect(page2.getByTestId('nav-org')).toHaveText(orgName);
      await expect(page2.getByTestId('nav-jobs')).toBeVisible();
      await expect(page2.getByTestId('nav-billing')).toHaveCount(0);
      await page2.goto(url('/billing'));
      await expect(page2.getByTestId('billing-reason')).toContainText("Your role 'member' cannot manage billing");
      await expect(page2.getByTestId('billing-plan')).toHaveCount(0);
    } finally {
      await other.close();
    }
  });

  await test.step('the new-job form estimates tokens and cost at the plan price, and warns past the cap', async () => {
    await page.goto(url('/jobs'));
    await page.getByTestId('nav-datasets').click();
    await page.waitForURL(at('/datasets'));
    // Token counts follow the tokenizer of the model chosen here; the estimate needs lfm2-tiny's.
    await page.getByTestId('upload-base-model').selectOption('lfm2-tiny');
    await page.getByTestId('upload-input').setInputFiles({ name: 'billing-train.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(toJsonl(examples(200, 1)), 'utf8') });
    await page.getByTestId('upload-submit').click();
    const uploaded = page.getByTestId('upload-result');
    await expect(uploaded).toContainText('billing-train.jsonl');
    const fileId = (await uploaded.getAttribute('data-file-id')) ?? '';
    const datasetId = (await uploaded.getAttribute('data-dataset-id')) ?? '';

    await page.goto(url('/jobs/new'));
    // The datasets load in the browser: choosing one first means the form is live.
    await page.getByTestId('job-training-dataset').selectOption(datasetId);
    await expect(page.getByTestId('job-training-file')).toHaveValue(fileId);
    await page.getByTestId('job-model').selectOption('lfm2-tiny');
    await page.getByTestId('job-epochs').fill('1');
    const estimate = page.getByTestId('job-estimate');
    // Earlier answers (the default model or epochs) may show first: wait for the one of this input.
    await expect(async () => {
      expect(await estimate.getAttribute('data-epochs')).toBe('1');
      expect(await estimate.getAttribute('data-cost-minor')).toMatch(/^[1-9]\d*$/);
    }).toPass();
    const tokens = Number(await estimate.getAttribute('data-tokens'));
    expect(tokens).toBeGreaterThan(0);
    expect(Number(await estimate.getAttribute('data-cost-minor'))).toBe(Math.ceil((tokens / 1e6) * tinyPrice));
    await expect(estimate.getByTestId('job-estimate-tokens')).toHaveText(`${tokens.toLocaleString('en-US')} (1 epoch)`);
    await expect(estimate.getByTestId('job-estimate-cost')).toContainText(/^\$[\d,]+\.\d{2} /);
    await expect(estimate.getByTestId('job-estimate-cost')).toContainText(`at $${(tinyPrice / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })} per million tokens, Pay as you go plan`);
    await expect(page.getByTestId('job-estimate-over-cap')).toHaveCount(0);
    // The memory plan beside the cost: the estimate against the memory the local trainer reports.
    await expect(estimate.getByTestId('job-estimate-memory')).toContainText(/^about [\d.]+ (MiB|GiB) of [\d.]+ GiB on training pool 'local'/);

    // A one-cent cap: the next estimate (two epochs) warns that the job would not start.
    const capped = await page.request.post(url('/api/trpc/billing.setCap'), { data: { json: { monthly_cap: 1 } } });
    expect(capped.status()).toBe(200);
    await page.getByTestId('job-epochs').fill('2');
    await expect(estimate).toHaveAttribute('data-epochs', '2');
    await expect(estimate).toHaveAttribute('data-tokens', String(tokens * 2));
    await expect(estimate.getByTestId('job-estimate-cap')).toContainText('of $0.01 this month');
    await expect(page.getByTestId('job-estimate-over-cap')).toBeVisible();
  });
});
