import { bigint, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Fingerprint } from '@edgetune/contracts';
import { jobs } from './jobs';
import { orgs } from './orgs';

/** Hardware / training pools as they registered themselves. Platform-owned, not tenant data. */
export const pools = pgTable('pools', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['device', 'train'] }).notNull(),
  profiles: text('profiles').array().notNull(),
  fingerprint: jsonb('fingerprint').$type<Fingerprint>().notNull(),
  registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Metered usage, one row per (job, kind); billing reads these. */
export const usageRecords = pgTable(
  'usage_records',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    jobId: text('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    kind: text('kind').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('usage_records_job_kind').on(t.jobId, t.kind)],
);
