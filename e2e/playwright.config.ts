import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Where screenshots and traces go; `npm test` points this at its own artifacts folder. */
export const artifactsDir = path.resolve(process.env.E2E_ARTIFACTS_DIR ?? path.join(here, 'test-results'));

export default defineConfig({
  testDir: path.join(here, 'tests'),
  // Playwright empties its outputDir on start: keep it a subfolder so named artifacts survive.
  outputDir: path.join(artifactsDir, 'playwright'),
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // A real fine-tuning job (train, export, quantize, benchmark) takes minutes on 2 CPU cores.
  timeout: 25 * 60_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.BASE_URL ?? 'http://127.0.0.1:3000',
    viewport: { width: 1400, height: 900 },
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    video: 'off',
    browserName: 'chromium',
    // Debian's chromium; never `playwright install`.
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    },
  },
});
