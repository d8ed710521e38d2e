import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Manifest, StoredVariantMetrics } from '@edgetune/contracts';
import { jobs } from './jobs';
import { orgs } from './orgs';

export const modelVersions = pgTable(
  'model_versions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    jobId: text('job_id').notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    /** The `fine_tuned_model` name callers use. */
    name: text('name').notNull(),
    baseModel: text('base_model').notNull(),
    version: integer('version').notNull(),
    manifest: jsonb('manifest').$type<Manifest>().notNull(),
    manifestKey: text('manifest_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('model_versions_name').on(t.name),
    uniqueIndex('model_versions_job').on(t.jobId),
    index('model_versions_org').on(t.orgId),
    // Version numbers count per organization and base model; concurrent publishes cannot share one.
    uniqueIndex('model_versions_number').on(t.orgId, t.baseModel, t.version),
  ],
);

export const modelVariants = pgTable(
  'model_variants',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    versionId: text('version_id').notNull().references(() => modelVersions.id, { onDelete: 'cascade' }),
    device: text('device').notNull(),
    /** The pool whose hardware measured it ('' on variants published before pools were recorded). */
    pool: text('pool').notNull().default(''),
    quantization: text('quantization').notNull(),
    format: text('format').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    storageKey: text('storage_key').notNull(),
    selected: boolean('selected').notNull(),
    metrics: jsonb('metrics').$type<StoredVariantMetrics>().notNull(),
  },
  (t) => [uniqueIndex('model_variants_key').on(t.versionId, t.device, t.pool, t.quantization)],
);
