/**
 * The platform's Stripe client (the official `stripe` library), pointed at STRIPE_API_BASE when
 * set (stripe-mock in tests), and the customer every billing action of an organization uses.
 */
import Stripe from 'stripe';
import { eq } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { billingAccount, ensureBillingAccount } from './account';

let client: Stripe | null = null;
let clientKey: string | null = null;

/** Throws the reason when billing is off on this installation. */
export function requireBilling(): void {
  if (!loadConfig().STRIPE_SECRET_KEY) throw new DomainError('invalid_request', 'Billing is off on this installation (no STRIPE_SECRET_KEY); only its configured quotas apply.');
}

/** The Stripe client, or a clear error when billing is off on this installation. */
export function stripe(): Stripe {
  requireBilling();
  const c = loadConfig();
  if (client && clientKey === c.STRIPE_SECRET_KEY) return client;
  const base = c.STRIPE_API_BASE ? new URL(c.STRIPE_API_BASE) : null;
  client = new Stripe(c.STRIPE_SECRET_KEY!, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    ...(base ? { host: base.hostname, port: base.port || (base.protocol === 'https:' ? 443 : 80), protocol: base.protocol === 'https:' ? 'https' : 'http' } : {}),
  });
  clientKey = c.STRIPE_SECRET_KEY ?? null;
  return client;
}

/** Stripe failed: the caller sees 503 with Stripe's own words, never a stack. */
export function stripeUnavailable(e: unknown): DomainError {
  if (e instanceof DomainError) return e;
  const msg = e instanceof Stripe.errors.StripeError ? e.message : (e as Error)?.message ?? String(e);
  return new DomainError('unavailable', `Stripe did not answer the request: ${msg}`);
}

/**
 * The organization's Stripe customer, created on its first billing action. The account row is
 * locked meanwhile, so two first actions at once make one customer.
 */
export async function ensureCustomer(orgId: string): Promise<string> {
  const existing = (await billingAccount(orgId))?.stripeCustomerId;
  if (existing) return existing;
  await ensureBillingAccount(orgId);
  return db().transaction(async (tx) => {
    const [row] = await tx.select().from(schema.billingAccounts).where(eq(schema.billingAccounts.orgId, orgId)).for('update');
    if (row.stripeCustomerId) return row.stripeCustomerId;
    const [org] = await tx.select({ name: schema.orgs.name }).from(schema.orgs).where(eq(schema.orgs.id, orgId));
    let customer: Stripe.Customer;
    try {
      customer = await stripe().customers.create({ name: org?.name ?? orgId, metadata: { org_id: orgId } }, { idempotencyKey: `customer-${orgId}` });
    } catch (e) {
      throw stripeUnavailable(e);
    }
    await tx.update(schema.billingAccounts).set({ stripeCustomerId: customer.id, updatedAt: new Date() }).where(eq(schema.billingAccounts.orgId, orgId));
    return customer.id;
  });
}
