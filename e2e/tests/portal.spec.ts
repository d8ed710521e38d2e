import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { artifactsDir } from '../playwright.config';
import { verifyFromOutbox } from './outbox';

/** The portal's pages without a running job: works against a stack with no workers online. */
test('portal pages: sign up, sign out and in, API key lifecycle, every page renders', async ({ page }) => {
  const shots = path.join(artifactsDir, 'pages');
  mkdirSync(shots, { recursive: true });
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const email = `portal-${stamp}@example.com`;
  const password = `pw-${stamp}-Secret!`;
  const orgName = `Portal Co ${stamp}`;

  await page.goto('/jobs');
  await page.waitForURL(/\/signin/);
  await page.screenshot({ path: path.join(shots, 'signin.png') });

  await page.goto('/signup');
  await page.screenshot({ path: path.join(shots, 'signup.png') });
  await page.getByTestId('signup-org').fill(orgName);
  await page.getByTestId('signup-email').fill(email);
  await page.getByTestId('signup-password').fill(password);
  await page.getByTestId('signup-submit').click();
  await page.waitForURL(/\/jobs$/);
  await expect(page.getByTestId('nav-org')).toHaveText(orgName);
  await page.screenshot({ path: path.join(shots, 'jobs.png'), fullPage: true });

  // The same e-mail cannot sign up twice.
  await page.getByTestId('signout').click();
  await page.waitForURL(/\/signin/);
  await page.goto('/signup');
  await page.getByTestId('signup-org').fill('Other');
  await page.getByTestId('signup-email').fill(email);
  await page.getByTestId('signup-password').fill(password);
  await page.getByTestId('signup-submit').click();
  await expect(page.getByTestId('signup-error')).toContainText(/already exists/i);

  // Wrong password, then the right one.
  await page.goto('/signin');
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill('wrong-password');
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('signin-error')).toBeVisible();
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
  await page.waitForURL(/\/jobs$/);
  await expect(page.getByTestId('nav-org')).toHaveText(orgName);

  // API key: create (once the address is verified), shown once, revoke.
  await verifyFromOutbox(page, email);
  await page.goto('/jobs');
  await page.getByTestId('nav-apikeys').click();
  await page.getByTestId('apikey-name').fill('to revoke');
  await page.getByTestId('apikey-create').click();
  await expect(page.getByTestId('apikey-secret')).toHaveText(/^et_/);
  await page.screenshot({ path: path.join(shots, 'api-keys.png'), fullPage: true });
  page.once('dialog', (d) => void d.accept());
  await page.getByTestId('apikey-row').filter({ hasText: 'to revoke' }).getByTestId('apikey-revoke').click();
  await expect(page.getByTestId('apikey-row').filter({ hasText: 'to revoke' })).toContainText('revoked');

  // Pools: create one (its enrollment token and the agent's command are shown once), rotate, delete.
  await page.getByTestId('nav-pools').click();
  await page.getByLabel('Pool name').fill('desk-lab');
  await page.getByRole('button', { name: 'Create pool' }).click();
  const token = page.getByLabel('Enrollment token');
  await expect(token).toHaveValue(/^etp_[A-Za-z0-9]{40}$/);
  const first = await token.inputValue();
  await expect(page.getByLabel('Agent command')).toHaveValue(`EDGETUNE_POOL_TOKEN=${first} npm run device-agent -- --url ${new URL(page.url()).origin} --data-dir ~/edgetune-agent`);
  await expect(page.getByRole('table', { name: 'Pools' })).toContainText('desk-lab');
  await page.screenshot({ path: path.join(shots, 'pools.png'), fullPage: true });
  await page.getByRole('button', { name: 'Rotate token of desk-lab' }).click();
  await expect(token).not.toHaveValue(first);
  await expect(token).toHaveValue(/^etp_/);
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete desk-lab' }).click();
  await expect(page.getByRole('table', { name: 'Pools' })).not.toContainText('desk-lab');

  // Fleets: create one; its enrollment token and the enrollment command are shown once.
  await page.getByTestId('nav-fleets').click();
  await page.getByLabel('Fleet name').fill('cars-eu');
  await page.getByRole('button', { name: 'Create fleet' }).click();
  await expect(page.getByLabel('Enrollment token')).toHaveValue(/^etf_[A-Za-z0-9]{40}$/);
  await expect(page.getByLabel('Enroll command')).toHaveValue(/\/api\/v1\/fleets\/flt_[A-Za-z0-9]+\/devices -H "Authorization: Bearer etf_/);
  await expect(page.getByRole('table', { name: 'Fleets' })).toContainText('cars-eu');
  // Its releases and devices: nothing released or enrolled yet, and the release form offers the organization's models.
  await page.getByRole('button', { name: 'Devices of cars-eu' }).click();
  await expect(page.getByTestId('fleet-releases')).toContainText('Nothing released to this fleet yet.');
  await expect(page.getByTestId('fleet-releases')).toContainText('No devices enrolled yet.');
  await expect(page.getByTestId('release-model')).toContainText('Choose a published model');
  await expect(page.getByTestId('release-create')).toBeDisabled();
  await page.screenshot({ path: path.join(shots, 'fleets.png'), fullPage: true });

  await page.getByTestId('nav-datasets').click();
  await page.getByTestId('upload-input').setInputFiles({
    name: 'no-assistant.jsonl',
    mimeType: 'application/jsonl',
    buffer: Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) + '\n'),
  });
  await page.getByTestId('upload-submit').click();
  await expect(page.getByTestId('upload-error')).toContainText(/line 1/i);
  await page.screenshot({ path: path.join(shots, 'datasets.png'), fullPage: true });

  await page.goto('/jobs/new');
  await expect(page.getByTestId('device-checkbox').first()).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'new-job.png'), fullPage: true });

  await page.getByTestId('nav-models').click();
  await expect(page.getByTestId('base-models-table')).toContainText('lfm2-tiny');
  await page.screenshot({ path: path.join(shots, 'models.png'), fullPage: true });

  // Another tenant's (or a made-up) job is simply not found.
  await page.goto('/jobs/ftjob-doesnotexist');
  await expect(page.locator('.alert.error')).toContainText(/no fine-tuning job found/i);
});
