import { bigint, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Fingerprint } from '@edgetune/contracts';
import { modelVariants, modelVersions } from './models';
import { orgs, users } from './orgs';

/**
 * A fleet: an organization's edge devices that install its models. Devices enroll with the
 * fleet's enrollment token (only its sha256 is kept) and then hold a device token of their own.
 */
export const fleets = pgTable(
  'fleets',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    tokenPrefix: text('token_prefix').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('fleets_org_name').on(t.orgId, t.name), uniqueIndex('fleets_token_hash').on(t.tokenHash)],
);

export const deviceHealth = ['ok', 'degraded', 'failed'] as const;

/** An enrolled edge device and what it last reported. */
export const fleetDevices = pgTable(
  'fleet_devices',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    fleetId: text('fleet_id').notNull().references(() => fleets.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    profile: text('profile').notNull(),
    fingerprint: jsonb('fingerprint').$type<Partial<Fingerprint>>().notNull(),
    tokenHash: text('token_hash').notNull(),
    enrolledAt: timestamp('enrolled_at', { withTimezone: true }).notNull().defaultNow(),
    lastCheckInAt: timestamp('last_check_in_at', { withTimezone: true }),
    installedVersion: text('installed_version'),
    health: text('health', { enum: deviceHealth }),
    lastError: text('last_error'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** The release channel the device follows. */
    channel: text('channel').notNull().default('stable'),
    /** 0–99, from the device id: a release at p % reaches the devices whose bucket is below p. */
    bucket: integer('bucket').notNull().default(0),
    /** The last update the device reported: which release, and whether it installed. */
    updateReleaseId: text('update_release_id'),
    updateStatus: text('update_status', { enum: ['installed', 'failed'] }),
    updateError: text('update_error'),
    updateLatencyMs: doublePrecision('update_latency_ms'),
    updateReportedAt: timestamp('update_reported_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('fleet_devices_token_hash').on(t.tokenHash), index('fleet_devices_fleet').on(t.fleetId), uniqueIndex('fleet_devices_fleet_name').on(t.fleetId, t.name), index('fleet_devices_update_release').on(t.updateReleaseId)],
);

export const tufRoles = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TufRole = (typeof tufRoles)[number];

/**
 * A fleet's TUF signing keys (ed25519). The private key is kept encrypted (AES-256-GCM under
 * FLEET_KEY_SECRET) by the local key vault; a KMS-backed vault would keep only a reference here.
 */
export const fleetTufKeys = pgTable(
  'fleet_tuf_keys',
  {
    keyId: text('key_id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    fleetId: text('fleet_id').notNull().references(() => fleets.id, { onDelete: 'cascade' }),
    role: text('role', { enum: tufRoles }).notNull(),
    publicHex: text('public_hex').notNull(),
    /** The vault's reference to the private key: for the local vault, iv.tag.ciphertext in base64url. */
    privateRef: text('private_ref').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (t) => [index('fleet_tuf_keys_fleet').on(t.fleetId, t.role)],
);

/** Every root a fleet has had, signed; a device walks them one version at a time. */
export const fleetTufRoots = pgTable(
  'fleet_tuf_roots',
  {
    fleetId: text('fleet_id').notNull().references(() => fleets.id, { onDelete: 'cascade' }),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    /** The signed metadata exactly as served. */
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.fleetId, t.version] })],
);

export const releaseStates = ['rolling', 'paused', 'halted', 'complete', 'superseded', 'rolled_back'] as const;
export type ReleaseState = (typeof releaseStates)[number];

/**
 * A model version released to a fleet channel. `seq` numbers the channel's releases and is the
 * version of its targets and snapshot metadata, so a device only ever moves to higher versions.
 */
export const fleetReleases = pgTable(
  'fleet_releases',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    fleetId: text('fleet_id').notNull().references(() => fleets.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    seq: integer('seq').notNull(),
    modelVersionId: text('model_version_id').notNull().references(() => modelVersions.id, { onDelete: 'no action' }),
    modelName: text('model_name').notNull(),
    steps: jsonb('steps').$type<number[]>().notNull(),
    stepIndex: integer('step_index').notNull().default(0),
    /** The share of the channel that gets this release now (steps[stepIndex]). */
    percent: integer('percent').notNull(),
    state: text('state', { enum: releaseStates }).notNull().default('rolling'),
    soakMinutes: integer('soak_minutes'),
    failureThreshold: doublePrecision('failure_threshold').notNull(),
    minReports: integer('min_reports').notNull(),
    stepStartedAt: timestamp('step_started_at', { withTimezone: true }).notNull().defaultNow(),
    stateReason: text('state_reason'),
    /** Set on a rollback release: the release it undoes. */
    rollbackOf: text('rollback_of'),
    targetsBody: text('targets_body').notNull(),
    snapshotBody: text('snapshot_body').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('fleet_releases_seq').on(t.fleetId, t.channel, t.seq), index('fleet_releases_org').on(t.orgId)],
);

/** The file each device profile installs from a release (also in its signed targets metadata). */
export const fleetReleaseTargets = pgTable(
  'fleet_release_targets',
  {
    releaseId: text('release_id').notNull().references(() => fleetReleases.id, { onDelete: 'cascade' }),
    orgId: text('org_id').notNull().references(() => orgs.id, { onDelete: 'cascade' }),
    fleetId: text('fleet_id').notNull().references(() => fleets.id, { onDelete: 'cascade' }),
    profile: text('profile').notNull(),
    variantId: text('variant_id').notNull().references(() => modelVariants.id, { onDelete: 'no action' }),
    sha256: text('sha256').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.releaseId, t.profile] }), index('fleet_release_targets_sha').on(t.fleetId, t.sha256)],
);
