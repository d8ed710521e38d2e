/**
 * Stripe's webhooks (`POST /api/webhooks/stripe`). The signature is verified by the library over
 * the raw body (bad → 400); each event id is handled once (a replay is acknowledged, not
 * re-applied); subscription state follows only events newer than the one it came from, so events
 * arriving out of order never roll it back.
 */
import type Stripe from 'stripe';
import { and, eq, isNull, lte, or, sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { DomainError, planIds, type PlanId } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { logger } from '../logger';
import { readBodyBytes } from '../http/util';
import { stripe } from './stripe';

/** Stripe's events are small; anything larger is not one of them. */
const MAX_WEBHOOK_BYTES = 512 * 1024;

export interface WebhookOutcome {
  received: true;
  duplicate?: true;
  applied: boolean;
}

const customerId = (c: string | { id: string } | null | undefined) => (typeof c === 'string' ? c : (c?.id ?? null));

/** The organization a Stripe customer belongs to, if it is ours. */
async function orgOfCustomer(tx: Db, customer: string | null): Promise<string | null> {
  if (!customer) return null;
  const [row] = await tx.select({ orgId: schema.billingAccounts.orgId }).from(schema.billingAccounts).where(eq(schema.billingAccounts.stripeCustomerId, customer)).limit(1);
  return row?.orgId ?? null;
}

const activeStatuses = new Set(['active', 'trialing', 'past_due']);

/** The plan a subscription puts its organization on: its metadata's, else pay as you go; none when it ended. */
function planOfSubscription(sub: Stripe.Subscription): PlanId {
  if (!activeStatuses.has(sub.status)) return 'free';
  const named = sub.metadata?.plan;
  return named && (planIds as readonly string[]).includes(named) && named !== 'free' ? (named as PlanId) : 'payg';
}

async function applySubscription(tx: Db, event: Stripe.Event, sub: Stripe.Subscription, deleted: boolean): Promise<{ orgId: string | null; applied: boolean }> {
  const orgId = (await orgOfCustomer(tx, customerId(sub.customer))) ?? (sub.metadata?.org_id || null);
  if (!orgId) return { orgId: null, applied: false };
  const at = new Date(event.created * 1000);
  const status = deleted ? 'canceled' : sub.status;
  const plan = deleted ? 'free' : planOfSubscription(sub);
  await tx.insert(schema.billingAccounts).values({ orgId }).onConflictDoNothing();
  // Only an event at least as new as the state's source moves it: Stripe does not promise order.
  const changed = await tx
    .update(schema.billingAccounts)
    .set({
      plan,
      subscriptionStatus: status,
      stripeSubscriptionId: sub.id,
      // An organization keeps the customer it has; one without gets the subscription's.
      stripeCustomerId: sql`coalesce(${schema.billingAccounts.stripeCustomerId}, ${customerId(sub.customer)})`,
      subscriptionEventAt: at,
      updatedAt: new Date(),
    })
    .where(and(eq(schema.billingAccounts.orgId, orgId), or(isNull(schema.billingAccounts.subscriptionEventAt), lte(schema.billingAccounts.subscriptionEventAt, at))))
    .returning({ orgId: schema.billingAccounts.orgId });
  return { orgId, applied: changed.length > 0 };
}

/** Checkout finished: link the customer to the organization named by client_reference_id. */
async function applyCheckout(tx: Db, session: Stripe.Checkout.Session): Promise<{ orgId: string | null; applied: boolean }> {
  const orgId = session.client_reference_id;
  const customer = customerId(session.customer);
  if (!orgId || !customer) return { orgId: null, applied: false };
  const [org] = await tx.select({ id: schema.orgs.id }).from(schema.orgs).where(eq(schema.orgs.id, orgId)).limit(1);
  if (!org) return { orgId: null, applied: false };
  await tx.insert(schema.billingAccounts).values({ orgId, stripeCustomerId: customer }).onConflictDoNothing();
  const changed = await tx
    .update(schema.billingAccounts)
    .set({ stripeCustomerId: customer, updatedAt: new Date() })
    .where(and(eq(schema.billingAccounts.orgId, orgId), or(isNull(schema.billingAccounts.stripeCustomerId), eq(schema.billingAccounts.stripeCustomerId, customer))))
    .returning({ orgId: schema.billingAccounts.orgId });
  return { orgId, applied: changed.length > 0 };
}

async function apply(tx: Db, event: Stripe.Event): Promise<{ orgId: string | null; applied: boolean }> {
  switch (event.type) {
    case 'checkout.session.completed':
      return applyCheckout(tx, event.data.object);
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.paused':
    case 'customer.subscription.resumed':
      return applySubscription(tx, event, event.data.object, false);
    case 'customer.subscription.deleted':
      return applySubscription(tx, event, event.data.object, true);
    default:
      return { orgId: null, applied: false };
  }
}

/** Verifies, records and applies one webhook delivery. */
export async function handleStripeWebhook(req: Request): Promise<Response> {
  const secret = loadConfig().STRIPE_WEBHOOK_SECRET;
  if (!secret || !loadConfig().STRIPE_SECRET_KEY) {
    return Response.json({ error: { code: 'not_found', message: 'Billing is off on this installation.', param: null, details: [] } }, { status: 404 });
  }
  const signature = req.headers.get('stripe-signature');
  let event: Stripe.Event;
  try {
    const body = await readBodyBytes(req, MAX_WEBHOOK_BYTES);
    if (!signature) throw new DomainError('invalid_request', 'Missing the Stripe-Signature header.', { param: 'Stripe-Signature' });
    event = stripe().webhooks.constructEvent(body, signature, secret);
  } catch (e) {
    const message = e instanceof DomainError ? e.message : `Webhook signature verification failed: ${(e as Error).message}`;
    const code = e instanceof DomainError && e.code === 'payload_too_large' ? 413 : 400;
    return Response.json({ error: { code: code === 413 ? 'payload_too_large' : 'invalid_request', message, param: 'Stripe-Signature', details: [] } }, { status: code });
  }
  // Recorded and applied in one transaction: a crash in between leaves neither, and Stripe retries.
  const outcome = await db().transaction(async (tx) => {
    const inserted = await tx
      .insert(schema.stripeEvents)
      .values({ id: event.id, type: event.type, createdAt: new Date(event.created * 1000) })
      .onConflictDoNothing()
      .returning({ id: schema.stripeEvents.id });
    if (!inserted.length) return { received: true, duplicate: true, applied: false } as WebhookOutcome;
    const r = await apply(tx, event);
    if (r.orgId) await tx.update(schema.stripeEvents).set({ orgId: r.orgId }).where(eq(schema.stripeEvents.id, event.id));
    return { received: true, applied: r.applied } as WebhookOutcome;
  });
  logger.info({ stripeEvent: event.id, type: event.type, ...outcome }, 'stripe webhook');
  return Response.json(outcome, { status: 200 });
}
