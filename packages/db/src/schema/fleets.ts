import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Fingerprint } from '@edgetune/contracts';
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
  },
  (t) => [uniqueIndex('fleet_devices_token_hash').on(t.tokenHash), index('fleet_devices_fleet').on(t.fleetId), uniqueIndex('fleet_devices_fleet_name').on(t.fleetId, t.name)],
);
