/**
 * Billing for the tests: stripe-mock (the Stripe API server Stripe publishes for testing) and a
 * second web app of the test stack with billing on, pointed at it. The stack's own web app runs
 * billing off (the self-hosted default), so the suites that need generous limits keep them; the
 * billing tests and the billing e2e use this one, on the same database.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '@edgetune/config';
import { ManagedProcess, waitFor } from './processes';

export interface BillingServers {
  /** The billing web app's base URL. */
  baseUrl: string;
  /** What a process needs to act as the platform with billing on (STRIPE_* and the test prices). */
  billingEnv: Record<string, string>;
  /** The same, named for the tests (EDGETUNE_TEST_BILLING_*). */
  testEnv(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startBillingServers(opts: {
  root: string;
  dataDir: string;
  stripePort: number;
  webPort: number;
  /** The stack's environment (database, Temporal, storage, secrets). */
  stackEnv: NodeJS.ProcessEnv;
  log: Logger;
}): Promise<BillingServers> {
  const logDir = path.join(opts.dataDir, 'logs');
  const onExit = (name: string, code: number | null) => opts.log.error({ process: name, code }, `${name} exited`);
  const stripeMock = new ManagedProcess(
    { name: 'stripe-mock', command: path.join(opts.root, '.tools', 'bin', 'stripe-mock'), args: ['-http-port', String(opts.stripePort)], cwd: opts.root, env: { NODE_ENV: 'production', PATH: process.env.PATH, HOME: process.env.HOME }, logDir, echo: false },
    opts.log,
    onExit,
  );
  stripeMock.start();
  process.once('exit', () => stripeMock.kill());
  const stripeBase = `http://127.0.0.1:${opts.stripePort}`;
  await waitFor('stripe-mock', 60_000, async () => {
    if (!stripeMock.running) throw new Error(`stripe-mock is not running; see ${stripeMock.logFile}`);
    const r = await fetch(`${stripeBase}/v1/customers?limit=1`, { headers: { authorization: 'Bearer sk_test_123' } });
    if (r.status !== 200) throw new Error(`stripe-mock answered ${r.status}`);
  });
  const baseUrl = `http://127.0.0.1:${opts.webPort}`;
  const billingEnv = {
    STRIPE_SECRET_KEY: 'sk_test_123',
    STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(16).toString('hex')}`,
    STRIPE_API_BASE: stripeBase,
    STRIPE_PAYG_PRICES: 'price_edgetune_payg_tokens,price_edgetune_payg_benchmarks',
    // lfm2-tiny is free in the catalog; a price makes a test job cost something.
    TRAINING_PRICES: 'lfm2-tiny=50000',
  };
  const web = new ManagedProcess(
    {
      name: 'web-billing',
      command: path.join(opts.root, 'node_modules', '.bin', 'tsx'),
      args: [path.join(opts.root, 'apps', 'web', 'server.ts')],
      cwd: path.join(opts.root, 'apps', 'web'),
      env: { ...opts.stackEnv, ...billingEnv, PORT: String(opts.webPort), PUBLIC_URL: baseUrl, NEXTAUTH_URL: baseUrl, NODE_ENV: 'production' },
      logDir,
      echo: false,
    },
    opts.log,
    onExit,
  );
  web.start();
  process.once('exit', () => web.kill());
  try {
    await waitFor('the billing web app', 300_000, async () => {
      if (!web.running) throw new Error(`the billing web app is not running; see ${web.logFile}`);
      const r = await fetch(`${baseUrl}/api/health`);
      if (r.status !== 200) throw new Error(`/api/health answered ${r.status}`);
    });
  } catch (e) {
    await web.stop();
    await stripeMock.stop();
    throw e;
  }
  opts.log.info({ component: 'billing', web: baseUrl, stripe: stripeBase }, 'billing web app and stripe-mock are up');
  return {
    baseUrl,
    billingEnv,
    testEnv: () => ({
      EDGETUNE_TEST_BILLING_URL: baseUrl,
      EDGETUNE_TEST_STRIPE_API_BASE: stripeBase,
      EDGETUNE_TEST_STRIPE_WEBHOOK_SECRET: billingEnv.STRIPE_WEBHOOK_SECRET,
      EDGETUNE_TEST_STRIPE_PAYG_PRICES: billingEnv.STRIPE_PAYG_PRICES,
      EDGETUNE_TEST_TRAINING_PRICES: billingEnv.TRAINING_PRICES,
    }),
    stop: async () => {
      await web.stop();
      await stripeMock.stop();
    },
  };
}
