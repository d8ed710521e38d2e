/** Imported first by the self-hosted billing test: billing off, the operator's quotas set. */
import './env';

delete process.env.STRIPE_SECRET_KEY;
process.env.QUOTAS = 'org_pools=0,concurrent_jobs=2';
export {};
