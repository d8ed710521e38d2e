import { expect, test, type Page } from '@playwright/test';

/**
 * Enterprise SSO in the browser against the real OpenID provider `npm test` starts on loopback
 * (infra/oidc-test-provider.ts): the button on /signin, the provider's own login page, and back.
 */
const issuer = process.env.OIDC_ISSUER;
const providerName = process.env.OIDC_NAME ?? 'Single sign-on';

async function signInAtProvider(page: Page, email: string): Promise<void> {
  expect(issuer, 'OIDC_ISSUER names the test OpenID provider (infra/test.ts starts it)').toBeTruthy();
  await page.goto('/jobs');
  await page.waitForURL(/\/signin/);
  await page.getByRole('button', { name: `Sign in with ${providerName}` }).click();
  await page.waitForURL((u) => u.href.startsWith(issuer!));
  await page.locator('input[name="login"]').fill(email);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
}

test('SSO: a verified e-mail signs in through the OpenID provider and lands in the portal', async ({ page }) => {
  const local = `sso-e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const email = `${local}@example.com`;
  await signInAtProvider(page, email);
  await page.waitForURL(/\/jobs$/);
  // A first SSO sign-in creates the account with its own organization, named after the person.
  await expect(page.getByTestId('nav-org')).toContainText(`Test ${local}`);
  const session = (await (await page.request.get('/api/auth/session')).json()) as { user?: { email?: string; id?: string } };
  expect(session.user?.email).toBe(email);
  expect(session.user?.id).toMatch(/^user_/);
});

test('SSO: an e-mail the provider has not verified is refused with a reason on the sign-in page', async ({ page }) => {
  await signInAtProvider(page, `unverified-e2e-${Date.now()}@example.com`);
  await page.waitForURL(/\/signin\?.*error=SsoEmailUnverified/);
  await expect(page.getByTestId('sso-error')).toContainText('has not verified your e-mail address');
  const session = (await (await page.request.get('/api/auth/session')).json()) as { user?: unknown };
  expect(session.user).toBeUndefined();
});
