import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { JobBudgets, JobResult, StoredError, StoredJobEventData, StoredJobSettings, StoredMemoryPlan } from '@edgetune/contracts';
import { files } from './files';
import { orgs, users } from './orgs';

export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    baseModel: text('base_model').notNull(),
    trainingFileId: text('training_file_id').notNull().references(() => files.id),
    validationFileId: text('validation_file_id').references(() => files.id),
    hyperparameters: jsonb('hyperparameters').$type<StoredJobSettings>().notNull(),
    targetDevices: text('target_devices').array().notNull(),
    /** The platform training pool named at launch; null = the default (TRAIN_POOL). */
    trainingPool: text('training_pool'),
    /** Pools the job's devices are measured on; empty = any online pool serving each device. */
    targetPools: text('target_pools').array().notNull().default(sql`'{}'::text[]`),
    /** The candidate quantizations the job narrowed its devices to; null = each profile's full list. */
    quantizations: text('quantizations').array(),
    /** Budgets the job set for every target and per target device; null = each profile's defaults. */
    budgets: jsonb('budgets').$type<JobBudgets>(),
    /** The peak memory planned at launch, and whether gradient checkpointing makes it fit; null on older jobs. */
    memoryPlan: jsonb('memory_plan').$type<StoredMemoryPlan>(),
    suffix: text('suffix'),
    seed: integer('seed').notNull(),
    status: text('status').notNull(),
    error: jsonb('error').$type<StoredError>(),
    workflowId: text('workflow_id').notNull(),
    fineTunedModel: text('fine_tuned_model'),
    trainedTokens: bigint('trained_tokens', { mode: 'number' }),
    /** Evaluation metrics and the training summary. */
    result: jsonb('result').$type<JobResult>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('jobs_org').on(t.orgId, t.createdAt)],
);

export const jobEvents = pgTable(
  'job_events',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull().unique(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    jobId: text('job_id').notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    level: text('level', { enum: ['info', 'warn', 'error'] }).notNull(),
    type: text('type', { enum: ['message', 'metrics'] }).notNull(),
    /** Only on events written before facts existed; newer events are described from `data` when read. */
    message: text('message'),
    data: jsonb('data').$type<StoredJobEventData>(),
    /** Makes event writes from retried activities idempotent. */
    dedupeKey: text('dedupe_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('job_events_dedupe').on(t.jobId, t.dedupeKey), index('job_events_job').on(t.jobId, t.seq)],
);

export const jobStages = pgTable(
  'job_stages',
  {
    jobId: text('job_id').notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    stage: text('stage').notNull(),
    /** '' for job-wide stages, the device profile id for per-device ones. */
    device: text('device').notNull().default(''),
    /** The quantization for per-variant stages, '' otherwise. */
    variant: text('variant').notNull().default(''),
    state: text('state', { enum: ['running', 'succeeded', 'failed', 'cancelled'] }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    durationMs: integer('duration_ms'),
  },
  (t) => [uniqueIndex('job_stages_key').on(t.jobId, t.stage, t.device, t.variant), index('job_stages_job').on(t.jobId, sql`${t.startedAt}`)],
);
