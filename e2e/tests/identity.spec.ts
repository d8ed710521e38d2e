import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { artifactsDir } from '../playwright.config';
import { linkFromOutbox, portalOrigin } from './outbox';

async function shot(page: Page, name: string) {
  const dir = path.join(artifactsDir, 'identity');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/**
 * Issue 3's walk: sign up → verify via the outbox → invite a second user → accept in a second
 * browser context → change role → the viewer cannot launch a job (disabled with the reason, and
 * the API refuses) → a scoped key works within its scope → revoked, it fails.
 */
test('identity: sign up, verify, invite, accept, roles, scoped API key, revoke', async ({ page, browser, playwright, baseURL }) => {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const ownerEmail = `owner-${stamp}@example.com`;
  const viewerEmail = `viewer-${stamp}@example.com`;
  const password = `Correct-Horse-${stamp}`;
  const orgName = `Identity Co ${stamp}`;

  // 1. Sign up: the portal asks to verify the address until it is.
  await page.goto('/signup');
  await page.getByTestId('signup-org').fill(orgName);
  await page.getByTestId('signup-name').fill('Olivia Owner');
  await page.getByTestId('signup-email').fill(ownerEmail);
  await page.getByTestId('signup-password').fill(password);
  await page.getByTestId('signup-submit').click();
  await page.waitForURL(/\/jobs$/);
  await expect(page.getByTestId('nav-org')).toHaveText(orgName);
  await expect(page.getByTestId('verify-email-banner')).toContainText(ownerEmail);
  await page.getByTestId('verify-email-resend').click();
  await expect(page.getByTestId('verify-email-resent')).toBeVisible();

  // 2. Verify through the link in the outbox; the link works once.
  const verifyPath = await linkFromOutbox(ownerEmail, '/verify-email?token=');
  await page.goto(verifyPath);
  await expect(page.getByTestId('verify-email-success')).toContainText(ownerEmail);
  await shot(page, 'verified');
  await page.goto(verifyPath);
  await expect(page.getByTestId('verify-email-error')).toContainText(/already|used/i);
  await page.goto('/jobs');
  await expect(page.getByTestId('nav-org')).toHaveText(orgName);
  await expect(page.getByTestId('verify-email-banner')).toHaveCount(0);

  // 3. Invite a second user as a member; the link goes only by e-mail.
  await page.getByTestId('nav-members').click();
  await page.waitForURL(/\/settings\/members$/);
  await page.getByTestId('invite-email-input').fill(viewerEmail);
  await page.getByTestId('invite-role-select').selectOption('member');
  await page.getByTestId('invite-submit').click();
  await expect(page.getByTestId('invite-sent')).toContainText(viewerEmail);
  await expect(page.getByTestId('invitation-row').filter({ hasText: viewerEmail })).toHaveCount(1);
  expect(await page.content()).not.toContain('/invite/');
  await shot(page, 'members-invited');

  // 4. The second user opens the link in their own browser, signs up with the invited address, accepts.
  const invitePath = await linkFromOutbox(viewerEmail, '/invite/');
  const other = await browser.newContext();
  try {
    const page2 = await other.newPage();
    await page2.goto(invitePath);
    await expect(page2.getByTestId('invite-org')).toHaveText(orgName);
    await expect(page2.getByTestId('invite-role')).toHaveText('member');
    await expect(page2.getByTestId('invite-email')).toHaveText(viewerEmail);
    await expect(page2.getByTestId('invite-inviter')).toContainText(ownerEmail);
    await shot(page2, 'invite-signed-out');
    // Both ways in carry the invited address and come back here.
    await page2.getByTestId('invite-signin').click();
    await page2.waitForURL(/\/signin\?/);
    await expect(page2.getByTestId('signin-email')).toHaveValue(viewerEmail);
    await page2.goBack();
    await page2.getByTestId('invite-signup').click();
    await page2.waitForURL(/\/signup\?/);
    await expect(page2.getByTestId('signup-email')).toHaveValue(viewerEmail);
    await page2.getByTestId('signup-name').fill('Victor Viewer');
    await page2.getByTestId('signup-password').fill(password);
    await page2.getByTestId('signup-submit').click();
    await page2.waitForURL((u) => u.pathname === invitePath);
    await page2.getByTestId('invite-accept').click();
    await page2.waitForURL(/\/jobs$/);
    await expect(page2.getByTestId('nav-org')).toHaveText(orgName);
    // The invitation is used up.
    await page2.goto(invitePath);
    await expect(page2.getByTestId('invite-error')).toContainText(/already been used/i);

    // 5. The owner sees the new member and makes them a viewer.
    await page.reload();
    const row = page.getByTestId('member-row').filter({ hasText: viewerEmail });
    await expect(row).toHaveAttribute('data-role', 'member');
    await expect(page.getByTestId('invitation-row').filter({ hasText: viewerEmail })).toHaveCount(0);
    await row.getByTestId('member-role').selectOption('viewer');
    await expect(row).toHaveAttribute('data-role', 'viewer');
    await shot(page, 'members-viewer');

    // 6. The viewer cannot launch a job: the button is disabled and says why …
    await page2.goto('/jobs/new');
    const submit = page2.getByTestId('job-submit');
    await expect(submit).toBeDisabled();
    const reason = page2.getByTestId('job-submit-reason');
    await expect(reason).toContainText(/viewer/);
    await expect(reason).toContainText(/launch/i);
    const reasonText = (await reason.textContent())?.trim() ?? '';
    await expect(submit).toHaveAttribute('title', reasonText);
    await shot(page2, 'viewer-new-job');
    await page2.goto('/datasets');
    await expect(page2.getByTestId('upload-submit')).toBeDisabled();
    await expect(page2.getByTestId('upload-reason')).toContainText(/viewer/);

    // … and the API refuses with the same reason, through REST and tRPC, with the viewer's session.
    const jobBody = { model: 'lfm2-tiny', training_file: 'file-doesnotmatter' };
    const rest = await page2.request.post('/api/v1/jobs', { data: jobBody, headers: portalOrigin(page2) });
    expect(rest.status()).toBe(403);
    expect((await rest.json()).error.message).toBe(reasonText);
    const rpc = await page2.request.post('/api/trpc/jobs.create', { data: { json: jobBody } });
    expect(rpc.status()).toBe(403);
    expect(JSON.stringify(await rpc.json())).toContain(reasonText);
    // Reading is still allowed.
    expect((await page2.request.get('/api/v1/jobs')).status()).toBe(200);
    // Other actions of the role say why too.
    await page2.goto('/api-keys');
    await expect(page2.getByTestId('apikey-create')).toBeDisabled();
    await expect(page2.getByTestId('apikey-create-reason')).toContainText(/viewer.*API keys/);
    await page2.goto('/settings/members');
    await expect(page2.getByTestId('invite-submit')).toBeDisabled();
    await expect(page2.getByTestId('invite-reason')).toContainText(/viewer/);
    await expect(page2.getByTestId('member-role')).toHaveCount(0);

    // Removed from the organization, the viewer loses access to it at once (their own one stays).
    await page.goto('/settings/members');
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('member-row').filter({ hasText: viewerEmail }).getByTestId('member-remove').click();
    await expect(page.getByTestId('member-row').filter({ hasText: viewerEmail })).toHaveCount(0);
    await page2.goto('/jobs');
    await expect(page2.getByTestId('nav-org')).not.toHaveText(orgName);
    await page2.getByTestId('org-switcher').click();
    await expect(page2.getByTestId('org-option').filter({ hasText: orgName })).toHaveCount(0);
    await page2.keyboard.press('Escape');

    // "Sign out everywhere" voids every session of the viewer, including copies of its cookie.
    const saved = await other.storageState();
    page2.once('dialog', (d) => void d.accept());
    await page2.getByTestId('account-menu').click();
    await page2.getByTestId('signout-everywhere').click();
    await page2.waitForURL(/\/signin/);
    const stale = await browser.newContext({ storageState: saved });
    try {
      const page3 = await stale.newPage();
      await page3.goto('/jobs');
      await page3.waitForURL(/\/signin/);
      expect((await page3.request.get('/api/v1/jobs')).status()).toBe(401);
    } finally {
      await stale.close();
    }
  } finally {
    await other.close();
  }

  // 7. The owner creates a read-only key; it reads but cannot launch a job.
  await page.getByTestId('nav-apikeys').click();
  await page.getByTestId('apikey-name').fill('read only');
  for (const scope of ['train', 'publish', 'fleet', 'admin']) await page.locator(`[data-testid=apikey-scope][data-scope=${scope}]`).uncheck();
  await page.locator('[data-testid=apikey-scope][data-scope=read]').check();
  const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  await page.getByTestId('apikey-expires').fill(expires);
  await page.getByTestId('apikey-create').click();
  const secret = page.getByTestId('apikey-secret');
  await expect(secret).toHaveText(/^et_/);
  const key = (await secret.textContent())!.trim();
  const keyRow = page.getByTestId('apikey-row').filter({ hasText: 'read only' });
  await expect(keyRow).toContainText('read');
  await expect(keyRow.getByTestId('apikey-expires-at')).toContainText(expires);
  await expect(keyRow.getByTestId('apikey-status')).toHaveText('active');

  const api = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${key}` } });
  try {
    const files = await api.get('/api/v1/files');
    expect(files.status()).toBe(200);
    expect((await files.json()).object).toBe('list');
    const job = await api.post('/api/v1/jobs', { data: { model: 'lfm2-tiny', training_file: 'file-doesnotmatter' } });
    expect(job.status()).toBe(403);
    expect((await job.json()).error.message).toMatch(/scope/i);

    await page.reload();
    await expect(keyRow.getByTestId('apikey-last-used')).not.toHaveText('never');

    // 8. Revoked, the key stops working at once.
    page.once('dialog', (d) => void d.accept());
    await keyRow.getByTestId('apikey-revoke').click();
    await expect(keyRow.getByTestId('apikey-status')).toHaveText('revoked');
    const after = await api.get('/api/v1/files');
    expect(after.status()).toBe(401);
    await shot(page, 'api-keys');
  } finally {
    await api.dispose();
  }

  // The audit log recorded the walk, and exports as CSV for the owner.
  await page.getByTestId('nav-audit').click();
  await expect(page.getByTestId('audit-table')).toBeVisible();
  for (const action of ['member.invited', 'member.joined', 'member.role_changed', 'member.removed', 'api_key.created', 'api_key.revoked']) {
    await expect(page.locator(`[data-testid=audit-row][data-action="${action}"]`).first()).toBeVisible();
  }
  await page.getByTestId('audit-filter-action').selectOption('member.role_changed');
  await expect(page.getByTestId('audit-row')).toHaveCount(1);
  await shot(page, 'audit');

  // Paging: more than a page of events (50), then older and back.
  for (let i = 0; i < 50; i++) {
    const r = await page.request.post('/api/trpc/apiKeys.create', { data: { json: { name: `bulk ${i}`, scopes: ['read'] } } });
    expect(r.status()).toBe(200);
  }
  await page.reload();
  await expect(page.getByTestId('audit-row')).toHaveCount(50);
  const newest = await page.getByTestId('audit-row').first().textContent();
  await page.getByTestId('audit-older').click();
  await expect(page.getByTestId('audit-row').first()).not.toHaveText(newest!);
  const olderCount = await page.getByTestId('audit-row').count();
  expect(olderCount).toBeGreaterThan(0);
  await expect(page.locator('[data-testid=audit-row][data-action="member.invited"]')).toHaveCount(1);
  await page.getByTestId('audit-newer').click();
  await expect(page.getByTestId('audit-row').first()).toHaveText(newest!);
  await expect(page.getByTestId('audit-newer')).toBeDisabled();
  const href = await page.getByTestId('audit-export-csv').getAttribute('href');
  const csv = await page.request.get(href!);
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toMatch(/text\/csv/);
  const csvText = await csv.text();
  expect(csvText).toContain('api_key.revoked');
  expect(csvText).toContain(viewerEmail);
});

async function signUp(page: Page, opts: { email: string; password: string; orgName?: string; name?: string }) {
  if (opts.orgName !== undefined) await page.getByTestId('signup-org').fill(opts.orgName);
  if (opts.name) await page.getByTestId('signup-name').fill(opts.name);
  await page.getByTestId('signup-email').fill(opts.email);
  await page.getByTestId('signup-password').fill(opts.password);
  await page.getByTestId('signup-submit').click();
}

async function openSwitcher(page: Page) {
  await page.getByTestId('org-switcher').click();
  await expect(page.getByTestId('org-option').first()).toBeVisible();
}

/** What the walk above does not reach: password reset, several organizations, invitation mistakes, ownership. */
test('identity: password reset, organizations, invitation mistakes, ownership transfer', async ({ page, browser, baseURL }) => {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const email = `reset-${stamp}@example.com`;
  const oldPassword = `Old-Password-${stamp}`;
  const newPassword = `New-Password-${stamp}`;
  const org1 = `First Org ${stamp}`;
  const org2 = `Second Org ${stamp}`;

  // Only same-site paths are followed after sign-up: a foreign callbackUrl lands on /jobs.
  await page.goto('/signup?callbackUrl=%2F%2Fevil.example%2Fsteal');
  await signUp(page, { email, password: oldPassword, orgName: org1 });
  await page.waitForURL(/\/jobs$/);
  expect(new URL(page.url()).host).toBe(new URL(baseURL!).host);
  await page.getByTestId('signout').click();
  await page.waitForURL(/\/signin/);

  // Forgotten password: a link by e-mail that works once.
  await page.getByTestId('signin-forgot').click();
  await page.waitForURL(/\/forgot-password$/);
  await page.getByTestId('forgot-password-email').fill(email);
  await page.getByTestId('forgot-password-submit').click();
  await expect(page.getByTestId('forgot-password-sent')).toContainText(email);
  const resetPath = await linkFromOutbox(email, '/reset-password?token=');
  await page.goto(resetPath);
  await page.getByTestId('reset-password-password').fill(newPassword);
  await page.getByTestId('reset-password-confirm').fill(newPassword);
  await page.getByTestId('reset-password-submit').click();
  await expect(page.getByTestId('reset-password-done')).toBeVisible();
  await page.goto(resetPath);
  await page.getByTestId('reset-password-password').fill(`${newPassword}-again`);
  await page.getByTestId('reset-password-confirm').fill(`${newPassword}-again`);
  await page.getByTestId('reset-password-submit').click();
  await expect(page.getByTestId('reset-password-error')).toContainText(/used|expired|invalid/i);
  await page.goto('/signin');
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(oldPassword);
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('signin-error')).toBeVisible();
  await page.getByTestId('signin-password').fill(newPassword);
  await page.getByTestId('signin-submit').click();
  await page.waitForURL(/\/jobs$/);
  await expect(page.getByTestId('nav-org')).toHaveText(org1);

  // A second organization from the switcher; switch between them.
  await openSwitcher(page);
  await expect(page.getByTestId('org-option')).toHaveCount(1);
  await page.getByTestId('org-create').click();
  await page.getByTestId('org-create-name').fill(org2);
  await page.getByTestId('org-create-submit').click();
  await page.waitForURL(/\/settings\/members$/);
  await expect(page.getByTestId('nav-org')).toHaveText(org2);
  await openSwitcher(page);
  await expect(page.getByTestId('org-option')).toHaveCount(2);
  await expect(page.locator('[data-testid=org-option][data-current=true]')).toContainText(org2);
  await shot(page, 'org-switcher');
  await page.getByTestId('org-option').filter({ hasText: org1 }).click();
  await expect(page.getByTestId('nav-org')).toHaveText(org1);
  await expect(page).toHaveURL(/\/settings\/members$/);

  // Rename the second organization, then delete it after typing its name.
  await openSwitcher(page);
  await page.getByTestId('org-option').filter({ hasText: org2 }).click();
  await expect(page.getByTestId('nav-org')).toHaveText(org2);
  await page.getByTestId('nav-settings').click();
  await page.waitForURL(/\/settings$/);
  const renamed = `${org2} renamed`;
  await page.getByTestId('org-rename-name').fill(renamed);
  await page.getByTestId('org-rename-submit').click();
  await expect(page.getByTestId('nav-org')).toHaveText(renamed);
  // Typed before the page has hydrated, a value would not reach React's state: retry until it does.
  await expect(async () => {
    await page.getByTestId('org-delete-confirm').fill(org2);
    await expect(page.getByTestId('org-delete-submit')).toBeDisabled();
    await page.getByTestId('org-delete-confirm').fill(renamed);
    await expect(page.getByTestId('org-delete-submit')).toBeEnabled({ timeout: 1000 });
  }).toPass();
  await shot(page, 'org-settings');
  await page.getByTestId('org-delete-submit').click();
  await page.waitForURL(/\/jobs$/);
  await expect(page.getByTestId('nav-org')).toHaveText(org1);
  await openSwitcher(page);
  await expect(page.getByTestId('org-option')).toHaveCount(1);
  await page.keyboard.press('Escape');

  // An invitation opened by the wrong account says so; a revoked one says it was withdrawn.
  const strangerEmail = `stranger-${stamp}@example.com`;
  await page.getByTestId('nav-members').click();
  await page.getByTestId('invite-email-input').fill(strangerEmail);
  await page.getByTestId('invite-role-select').selectOption('viewer');
  await page.getByTestId('invite-submit').click();
  await expect(page.getByTestId('invite-sent')).toBeVisible();
  const strangerInvite = await linkFromOutbox(strangerEmail, '/invite/');
  await page.goto(strangerInvite);
  await expect(page.getByTestId('invite-error')).toContainText(`sent to ${strangerEmail}`);
  await expect(page.getByTestId('invite-accept')).toHaveCount(0);
  await expect(page.getByTestId('invite-switch-account')).toBeVisible();
  const wrongAccept = await page.request.post('/api/trpc/invitations.accept', { data: { json: { token: strangerInvite.split('/').pop() } } });
  expect(wrongAccept.status()).toBe(403);
  await page.goto('/settings/members');
  await page.getByTestId('invitation-row').filter({ hasText: strangerEmail }).getByTestId('invitation-revoke').click();
  await expect(page.getByTestId('invitation-row').filter({ hasText: strangerEmail })).toHaveCount(0);
  await page.goto(strangerInvite);
  await expect(page.getByTestId('invite-error')).toContainText(/withdrawn/);

  // Ownership passes to an admin who joined by invitation; the old owner becomes an admin and
  // may no longer delete the organization.
  const heirEmail = `heir-${stamp}@example.com`;
  await page.goto('/settings/members');
  await page.getByTestId('invite-email-input').fill(heirEmail);
  await page.getByTestId('invite-role-select').selectOption('admin');
  await page.getByTestId('invite-submit').click();
  await expect(page.getByTestId('invite-sent')).toBeVisible();
  const heirInvite = await linkFromOutbox(heirEmail, '/invite/');
  const other = await browser.newContext();
  try {
    const page2 = await other.newPage();
    await page2.goto(heirInvite);
    await page2.getByTestId('invite-signup').click();
    await page2.waitForURL(/\/signup\?/);
    await signUp(page2, { email: heirEmail, password: newPassword });
    await page2.waitForURL((u) => u.pathname === heirInvite);
    await page2.getByTestId('invite-accept').click();
    await page2.waitForURL(/\/jobs$/);
    await expect(page2.getByTestId('nav-org')).toHaveText(org1);
  } finally {
    await other.close();
  }
  await page.goto('/settings');
  await page.getByTestId('org-transfer-member').selectOption({ label: `${heirEmail} — admin` });
  page.once('dialog', (d) => void d.accept());
  await page.getByTestId('org-transfer-submit').click();
  await expect(page.getByTestId('org-delete-submit')).toBeDisabled();
  await expect(page.getByTestId('org-delete-reason')).toContainText(/only the owner/i);
  await page.goto('/settings/members');
  await expect(page.getByTestId('member-row').filter({ hasText: heirEmail })).toHaveAttribute('data-role', 'owner');
  await expect(page.getByTestId('member-row').filter({ hasText: email })).toHaveAttribute('data-role', 'admin');

  // Leaving the last organization one belongs to offers to start a new one.
  page.once('dialog', (d) => void d.accept());
  await page.getByTestId('member-row').filter({ hasText: email }).getByTestId('member-leave').click();
  await page.waitForURL(/\/jobs$/);
  await expect(page.getByTestId('no-org')).toBeVisible();
  const org3 = `Fresh Start ${stamp}`;
  await expect(async () => {
    await page.getByTestId('no-org-name').fill(org3);
    await expect(page.getByTestId('no-org-create')).toBeEnabled({ timeout: 1000 });
  }).toPass();
  await page.getByTestId('no-org-create').click();
  await expect(page.getByTestId('nav-org')).toHaveText(org3);
  await expect(page.getByTestId('no-org')).toHaveCount(0);
});
