/**
 * The one writer of `audit_events`. It lives here rather than in packages/api because sign-ins
 * (next-auth's authorize, in this package) are recorded too; packages/api's `recordAudit` is the
 * entry point for everything else.
 */
import { newId } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';

export interface AuditEntry {
  /** Null only for events that belong to no organization (e.g. a failed sign-in for an unknown e-mail). */
  orgId: string | null;
  actorUserId?: string | null;
  actorKeyId?: string | null;
  /** The actor as shown: an e-mail or a key name, at the time of the event. */
  actorLabel?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  outcome?: 'success' | 'failure';
  ip?: string | null;
  userAgent?: string | null;
  /** Never secrets, tokens or password hashes. */
  data?: Record<string, unknown> | null;
}

export async function writeAuditEvents(entries: AuditEntry[], database: Db = db()): Promise<string[]> {
  if (!entries.length) return [];
  const rows = entries.map((e) => ({
    id: newId('audit'),
    orgId: e.orgId,
    actorUserId: e.actorUserId ?? null,
    actorKeyId: e.actorKeyId ?? null,
    actorLabel: e.actorLabel ?? null,
    action: e.action,
    targetType: e.targetType ?? null,
    targetId: e.targetId ?? null,
    outcome: e.outcome ?? 'success',
    ip: e.ip ?? null,
    userAgent: e.userAgent ?? null,
    data: e.data ?? null,
  }));
  await database.insert(schema.auditEvents).values(rows);
  return rows.map((r) => r.id);
}
