import { index, integer, jsonb, bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { orgs } from './orgs';

/** Uploaded training / validation files (OpenAI "file" objects). Immutable once processed. */
export const files = pgTable(
  'files',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    filename: text('filename').notNull(),
    purpose: text('purpose').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    storageKey: text('storage_key').notNull(),
    examples: integer('examples').notNull(),
    /** Summary statistics computed during validation. */
    stats: jsonb('stats').$type<Record<string, number>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('files_org').on(t.orgId, t.createdAt)],
);
