import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { datasetReportSchema, datasetSourceSchema, datasetStatsSchema } from '@edgetune/contracts';
import { orgs, users } from './orgs';
import type { StoredError, UploadOptions } from '@edgetune/contracts';
import { parsedJsonb } from './parsed-jsonb';

/** A named series of immutable dataset versions (each version is a `files` row). */
export const datasets = pgTable(
  'datasets',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('datasets_org_name').on(t.orgId, sql`lower(${t.name})`), index('datasets_org').on(t.orgId, t.createdAt)],
);

/**
 * Uploaded training / validation files (OpenAI "file" objects) = dataset versions. Immutable once
 * processed; content-addressed by `sha256` within their dataset.
 */
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
    stats: parsedJsonb('stats', datasetStatsSchema).notNull(),
    datasetId: text('dataset_id').references(() => datasets.id, { onDelete: 'cascade' }),
    /** 1, 2, … within the dataset. */
    version: integer('version'),
    /** Record format: chat, prompt_completion, preference. */
    format: text('format').notNull().default('chat'),
    /** How the upload arrived: source format (jsonl/csv/parquet), compression, column mapping. */
    source: parsedJsonb('source', datasetSourceSchema),
    /** Validation report: warnings, statistics, histograms. */
    report: parsedJsonb('report', datasetReportSchema),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('files_org').on(t.orgId, t.createdAt),
    uniqueIndex('files_dataset_version').on(t.datasetId, t.version),
    uniqueIndex('files_dataset_sha256').on(t.datasetId, t.sha256),
  ],
);

/** Resumable (chunked) uploads in progress; the bytes are staged on the server's disk. */
export const uploads = pgTable(
  'uploads',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    filename: text('filename').notNull(),
    purpose: text('purpose').notNull(),
    /** Everything the upload will be processed with at completion (dataset name, format, column mapping). */
    options: jsonb('options').$type<UploadOptions>().notNull(),
    totalBytes: bigint('total_bytes', { mode: 'number' }),
    /** The bytes from 0 that arrived without a gap: where a client sending in order continues. */
    receivedBytes: bigint('received_bytes', { mode: 'number' }).notNull().default(0),
    /** Every byte range that arrived, [start, end) sorted and merged: parts may arrive in any order. */
    receivedRanges: jsonb('received_ranges').$type<[number, number][]>().notNull().default([]),
    /** How many of the staged bytes validation has read: it follows the parts as they arrive, and finishes on completion (the portal shows it). */
    validatedBytes: bigint('validated_bytes', { mode: 'number' }).notNull().default(0),
    status: text('status', { enum: ['open', 'completing', 'completed', 'failed', 'aborted'] }).notNull(),
    fileId: text('file_id').references(() => files.id, { onDelete: 'set null' }),
    error: jsonb('error').$type<StoredError>(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('uploads_org').on(t.orgId, t.createdAt)],
);
