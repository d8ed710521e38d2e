import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { CustomTerms, Fingerprint, PlanId, PoolTaskInput } from '@edgetune/contracts';
import { jobs } from './jobs';
import { orgs, users } from './orgs';

/**
 * Hardware / training pools. A platform pool (org_id null) is an operator's Temporal worker that
 * registered itself; an organization pool belongs to one organization, whose agents speak HTTPS
 * with the pool's enrollment token (only its sha256 is kept).
 */
export const pools = pgTable(
  'pools',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name'),
    kind: text('kind', { enum: ['device', 'train'] }).notNull(),
    profiles: text('profiles').array().notNull(),
    /** The latest agent's report; null for an organization pool no agent has joined yet. */
    fingerprint: jsonb('fingerprint').$type<Fingerprint>(),
    tokenHash: text('token_hash'),
    /** The token's first characters, shown in lists so an owner can tell tokens apart. */
    tokenPrefix: text('token_prefix'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('pools_token_hash').on(t.tokenHash), uniqueIndex('pools_org_name').on(t.orgId, t.name), index('pools_org').on(t.orgId)],
);

/** One machine serving an organization pool, as its agent last reported itself. */
export const poolAgents = pgTable(
  'pool_agents',
  {
    id: text('id').primaryKey(),
    poolId: text('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    profiles: text('profiles').array().notNull(),
    fingerprint: jsonb('fingerprint').$type<Fingerprint>().notNull(),
    registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('pool_agents_pool_name').on(t.poolId, t.name)],
);

/**
 * One attempt of a device activity sent to an organization pool. The activity completes
 * asynchronously: Temporal's task token stays here, and the agent's HTTPS calls heartbeat,
 * complete or fail it. A retry of the activity is a new row; the old one is superseded.
 */
export const poolTasks = pgTable(
  'pool_tasks',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    poolId: text('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
    jobId: text('job_id').notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    device: text('device').notNull(),
    kind: text('kind', { enum: ['quantize', 'benchmark'] }).notNull(),
    input: jsonb('input').$type<PoolTaskInput>().notNull(),
    /** Temporal's task token (base64); never leaves the platform. */
    taskToken: text('task_token').notNull(),
    /** workflow id + activity id: the attempts of one activity share it. */
    activityKey: text('activity_key').notNull(),
    attempt: integer('attempt').notNull(),
    state: text('state', { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'superseded'] }).notNull(),
    agentId: text('agent_id').references(() => poolAgents.id, { onDelete: 'set null' }),
    error: text('error'),
    /** The accepted result (benchmarks feed the pool's "recent results and their spread"). */
    result: jsonb('result').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('pool_tasks_queue').on(t.poolId, t.state, t.createdAt), index('pool_tasks_activity').on(t.activityKey)],
);

/**
 * Metered usage: one row per (job, kind), or per (organization, kind, day) for what is metered
 * daily (`period`). The row id is the Stripe meter event's identifier, so reporting it twice after
 * a crash is deduplicated by Stripe; `reported_at` is set once Stripe accepted it.
 */
export const usageRecords = pgTable(
  'usage_records',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    jobId: text('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    kind: text('kind').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    /** The UTC day (YYYY-MM-DD) of a daily record; null for a job's record. */
    period: text('period'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    reportedAt: timestamp('reported_at', { withTimezone: true }),
    reportAttempts: integer('report_attempts').notNull().default(0),
    reportError: text('report_error'),
  },
  (t) => [
    uniqueIndex('usage_records_job_kind').on(t.jobId, t.kind),
    uniqueIndex('usage_records_org_kind_period').on(t.orgId, t.kind, t.period).where(sql`${t.period} is not null`),
    index('usage_records_unreported').on(t.createdAt).where(sql`${t.reportedAt} is null`),
  ],
);

/**
 * An organization's billing state. Created on its first billing action (or the first webhook
 * about its Stripe customer); an organization without a row is on the free plan.
 */
export const billingAccounts = pgTable(
  'billing_accounts',
  {
    orgId: text('org_id').primaryKey().references(() => orgs.id, { onDelete: 'cascade' }),
    plan: text('plan').$type<PlanId>().notNull().default('free'),
    /** Enterprise contract overrides of the plan's quotas and prices. */
    customTerms: jsonb('custom_terms').$type<CustomTerms>(),
    stripeCustomerId: text('stripe_customer_id'),
    stripeSubscriptionId: text('stripe_subscription_id'),
    subscriptionStatus: text('subscription_status'),
    /** Stripe's `created` of the event the subscription state came from: older events are ignored. */
    subscriptionEventAt: timestamp('subscription_event_at', { withTimezone: true }),
    /** US cents per calendar month (UTC); null = no cap. */
    monthlyCapMinor: bigint('monthly_cap_minor', { mode: 'number' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('billing_accounts_customer').on(t.stripeCustomerId)],
);

/** Stripe webhook events already handled, by id: a replay is acknowledged and ignored. */
export const stripeEvents = pgTable('stripe_events', {
  id: text('id').primaryKey(),
  type: text('type').notNull(),
  orgId: text('org_id').references(() => orgs.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A credit for a job that failed for the platform's reasons; at most one per job. */
export const billingCredits = pgTable(
  'billing_credits',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    jobId: text('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    reason: text('reason').notNull(),
    /** The Stripe customer balance transaction, once the credit reached Stripe. */
    stripeTransactionId: text('stripe_transaction_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('billing_credits_job').on(t.jobId), index('billing_credits_org').on(t.orgId, t.createdAt)],
);
