/**
 * Imported first by the billing tests: billing on, against the stripe-mock and the billing web
 * app `npm test` started (infra/billing-servers.ts), with the prices that web app uses.
 */
import './env';

const need = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the billing tests through npm test, which starts stripe-mock and the billing web app`);
  return v;
};
process.env.STRIPE_SECRET_KEY = 'sk_test_123';
process.env.STRIPE_API_BASE = need('EDGETUNE_TEST_STRIPE_API_BASE');
process.env.STRIPE_WEBHOOK_SECRET = need('EDGETUNE_TEST_STRIPE_WEBHOOK_SECRET');
process.env.STRIPE_PAYG_PRICES = need('EDGETUNE_TEST_STRIPE_PAYG_PRICES');
process.env.TRAINING_PRICES = need('EDGETUNE_TEST_TRAINING_PRICES');
export const billingWebUrl = need('EDGETUNE_TEST_BILLING_URL');
