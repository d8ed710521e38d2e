/**
 * The portal's datasets page as a user meets it, shared by the e2e tests and
 * `npm run bench:datasets -- --e2e`: signing up a new organization, and what the upload's
 * progress showed, read from the page's own DOM.
 */
import type { Page } from '@playwright/test';

/** Signs up a new organization's owner and opens the datasets page. */
export async function signUp(page: Page, prefix: string): Promise<void> {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto('/signup');
  await page.getByTestId('signup-org').fill(`${prefix} ${stamp}`);
  await page.getByTestId('signup-email').fill(`${prefix.toLowerCase().replace(/\W+/g, '-')}-${stamp}@example.com`);
  await page.getByTestId('signup-password').fill(`pw-${stamp}-Secret!`);
  await page.getByTestId('signup-submit').click();
  await page.waitForURL(/\/jobs$/, { timeout: 120_000 });
  await page.getByTestId('nav-datasets').click();
  await page.waitForURL(/\/datasets$/);
}

export interface ProgressSeen {
  /** Distinct percentages the bar showed while sending. */
  sending: number[];
  /** The "validating every line" texts shown, in order. */
  validation: string[];
}

/** From now on, records each state of the upload's progress as the user would have seen it. */
export async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: ProgressSeen = { sending: [], validation: [] };
    (window as unknown as { __progress: ProgressSeen }).__progress = seen;
    new MutationObserver(() => {
      const bar = document.querySelector('[data-testid="upload-progress"]');
      const percent = Number(bar?.getAttribute('data-percent'));
      if (bar?.getAttribute('data-phase') === 'sending' && !seen.sending.includes(percent)) seen.sending.push(percent);
      const text = document.querySelector('[data-testid="validation-progress"]')?.textContent;
      if (text && !seen.validation.includes(text)) seen.validation.push(text);
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

export async function progressSeen(page: Page): Promise<ProgressSeen> {
  return page.evaluate(() => (window as unknown as { __progress: ProgressSeen }).__progress);
}
