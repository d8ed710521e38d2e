/** Helpers of the portal's e2e tests: the local outbox (e-mails sent without SMTP_URL) read as an operator would, and the portal's origin. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, type Page } from '@playwright/test';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface OutboxMail {
  to: string;
  subject: string;
  text: string;
  kind?: string;
  createdAt?: string;
}

/** The operator's view of the outbox (`npm run admin -- outbox --json`), newest first. */
export async function outbox(to: string): Promise<OutboxMail[]> {
  // The test's env carries the stack's DATABASE_URL; the CLI reads the same database.
  const { stdout } = await run('npm', ['run', '--silent', 'admin', '--', 'outbox', '--to', to, '--json'], { cwd: repoRoot, env: process.env, maxBuffer: 16 << 20 });
  const text = stdout.trim();
  const json = text.startsWith('[') ? text : text.slice(text.indexOf('\n['));
  return JSON.parse(json) as OutboxMail[];
}

/** The path (and query) of the first link to `pathPrefix` in the newest mail to `to` that has one. */
export async function linkFromOutbox(to: string, pathPrefix: string): Promise<string> {
  const pattern = new RegExp(`https?://[^\\s"'<>]+${pathPrefix.replace(/[?]/g, '\\?')}[^\\s"'<>]+`);
  let last = '';
  for (let i = 0; i < 30; i++) {
    const mails = await outbox(to);
    for (const m of mails) {
      const hit = pattern.exec(m.text);
      if (hit) {
        const u = new URL(hit[0]);
        return u.pathname + u.search;
      }
    }
    last = mails.map((m) => m.subject).join(' | ');
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`no mail to ${to} with a ${pathPrefix} link in the outbox (subjects: ${last || 'none'})`);
}

/** Opens the verification link sent to `email`: the account may then manage keys, members and its organization. */
export async function verifyFromOutbox(page: Page, email: string): Promise<void> {
  await page.goto(await linkFromOutbox(email, '/verify-email?token='));
  await expect(page.getByTestId('verify-email-success')).toContainText(email);
}

/**
 * `page.request` carries the page's session cookie but, unlike the browser, no Origin: a REST
 * write by cookie must name the portal's origin, as the portal's own pages do.
 */
export function portalOrigin(page: Page): Record<string, string> {
  return { origin: new URL(page.url()).origin };
}
