/**
 * The audit log: who did what, when, from where. `recordAudit` is how domain code writes it;
 * admins and owners page through it and export it. Entries never hold secrets, tokens or
 * password hashes — `data` carries ids, names and before/after values only.
 */
import { and, asc, desc, eq, gt, inArray, lt, type SQL } from 'drizzle-orm';
import { writeAuditEvents } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { authorize, orgScope, pageLimit, type Caller } from '../tenant';

export const auditActions = [
  'auth.signin',
  'auth.signin_failed',
  'auth.signout_everywhere',
  'auth.password_reset',
  'auth.account_takeover',
  'member.invited',
  'member.invitation_revoked',
  'member.joined',
  'member.role_changed',
  'member.removed',
  'org.created',
  'org.renamed',
  'org.ownership_transferred',
  'org.deleted',
  'api_key.created',
  'api_key.revoked',
  'api_key.guess_refused',
  'file.uploaded',
  'dataset.deleted',
  'job.created',
  'job.cancelled',
  'model.published',
  'pool.created',
  'pool.token_rotated',
  'pool.deleted',
  'fleet.created',
  'fleet.token_rotated',
  'fleet.deleted',
  'fleet.device_revoked',
  'fleet.release_created',
  'fleet.release_advanced',
  'fleet.release_paused',
  'fleet.release_resumed',
  'fleet.release_halted',
  'fleet.release_rolled_back',
  'fleet.root_rotated',
  'billing.cap_changed',
  'billing.checkout_started',
] as const;
export type AuditAction = (typeof auditActions)[number];

/** Who acted when there is no Caller (sign-ins, the pipeline). */
export interface AuditActor {
  orgId: string | null;
  userId?: string | null;
  keyId?: string | null;
  label?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface AuditRecord {
  action: AuditAction;
  targetType?: string | null;
  targetId?: string | null;
  outcome?: 'success' | 'failure';
  data?: Record<string, unknown> | null;
}

function isCaller(ctx: Caller | AuditActor): ctx is Caller {
  return 'via' in ctx;
}

/** The actor as shown: the user's e-mail or the key's name, read when the event happens. */
async function actorLabel(database: Db, userId: string | null | undefined, keyId: string | null | undefined): Promise<string | null> {
  if (userId) {
    const [u] = await database.select({ email: schema.users.email }).from(schema.users).where(eq(schema.users.id, userId)).limit(1);
    if (u) return u.email;
  }
  if (keyId) {
    const [k] = await database.select({ name: schema.apiKeys.name, prefix: schema.apiKeys.prefix }).from(schema.apiKeys).where(eq(schema.apiKeys.id, keyId)).limit(1);
    if (k) return `API key '${k.name}' (et_${k.prefix}_…)`;
  }
  return null;
}

/** Writes one audit event (in `tx` when given, so it commits or rolls back with the change). */
export async function recordAudit(ctx: Caller | AuditActor, rec: AuditRecord, tx?: Db): Promise<void> {
  const database = tx ?? db();
  const userId = ctx.userId ?? null;
  const keyId = ctx.keyId ?? null;
  const label = (!isCaller(ctx) && ctx.label) || (await actorLabel(database, userId, keyId));
  await writeAuditEvents(
    [
      {
        orgId: ctx.orgId,
        actorUserId: userId,
        actorKeyId: keyId,
        actorLabel: label,
        ...rec,
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      },
    ],
    database,
  );
}

/**
 * Records an event about a person rather than one organization (password reset, sign out
 * everywhere): every organization they belong to sees it.
 */
export async function recordForUser(userId: string, meta: { ip?: string | null; userAgent?: string | null }, rec: AuditRecord, tx?: Db): Promise<void> {
  const database = tx ?? db();
  const orgIds = (await database.select({ orgId: schema.memberships.orgId }).from(schema.memberships).where(eq(schema.memberships.userId, userId))).map((m) => m.orgId);
  const label = await actorLabel(database, userId, null);
  const base = { actorUserId: userId, actorLabel: label, action: rec.action, targetType: rec.targetType ?? 'user', targetId: rec.targetId ?? userId, outcome: rec.outcome ?? 'success', ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, data: rec.data ?? null };
  await writeAuditEvents((orgIds.length ? orgIds : [null]).map((orgId) => ({ ...base, orgId })), database);
}

export type AuditRow = typeof schema.auditEvents.$inferSelect;

export function auditView(r: AuditRow) {
  return {
    id: r.id,
    seq: r.seq,
    at: r.createdAt,
    actor: { userId: r.actorUserId, keyId: r.actorKeyId, label: r.actorLabel },
    action: r.action,
    target: r.targetType || r.targetId ? { type: r.targetType, id: r.targetId } : null,
    outcome: r.outcome,
    ip: r.ip,
    userAgent: r.userAgent,
    data: r.data ?? null,
  };
}
export type AuditView = ReturnType<typeof auditView>;

function actionFilter(action: string | string[] | null | undefined): SQL | undefined {
  const list = (Array.isArray(action) ? action : action ? action.split(',') : []).map((a) => a.trim()).filter(Boolean);
  if (!list.length) return undefined;
  for (const a of list) {
    if (!(auditActions as readonly string[]).includes(a)) {
      throw new DomainError('invalid_request', `Unknown audit action '${a}'; expected one of ${auditActions.join(', ')}.`, { param: 'action' });
    }
  }
  return inArray(schema.auditEvents.action, list);
}

function parseCursor(before: unknown): number | undefined {
  if (before === undefined || before === null || before === '') return undefined;
  const n = typeof before === 'number' ? before : Number(before);
  if (!Number.isSafeInteger(n) || n < 1) throw new DomainError('invalid_request', "'before' must be the nextCursor of a previous page.", { param: 'before' });
  return n;
}

/** A page of the caller's org's log, newest first; `nextCursor` continues it (null at the end). */
export async function listAudit(
  caller: Caller,
  opts: { limit?: number; before?: number | string | null; action?: string | string[] | null } = {},
): Promise<{ data: AuditView[]; nextCursor: number | null }> {
  authorize(caller, 'view_audit');
  const limit = pageLimit(opts.limit, 50, 200);
  const before = parseCursor(opts.before);
  const rows = await db()
    .select()
    .from(schema.auditEvents)
    .where(orgScope(caller, schema.auditEvents, before ? lt(schema.auditEvents.seq, before) : undefined, actionFilter(opts.action)))
    .orderBy(desc(schema.auditEvents.seq))
    .limit(limit + 1);
  const data = rows.slice(0, limit).map(auditView);
  return { data, nextCursor: rows.length > limit ? data[data.length - 1].seq : null };
}

export const auditCsvColumns = ['id', 'at', 'actor', 'actor_user_id', 'actor_key_id', 'action', 'target_type', 'target_id', 'outcome', 'ip', 'user_agent', 'data'] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // Quote always-needed cases, and neutralise spreadsheet formulas (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function exportRecord(r: AuditRow) {
  return {
    id: r.id,
    at: r.createdAt.toISOString(),
    actor: r.actorLabel,
    actor_user_id: r.actorUserId,
    actor_key_id: r.actorKeyId,
    action: r.action,
    target_type: r.targetType,
    target_id: r.targetId,
    outcome: r.outcome,
    ip: r.ip,
    user_agent: r.userAgent,
    data: r.data ?? null,
  };
}

/**
 * The whole log of the caller's org, oldest first, as CSV (with a header line) or JSON Lines;
 * read in batches so an org's log of any size streams in constant memory.
 */
export function exportAudit(caller: Caller, format: 'csv' | 'jsonl', opts: { batch?: number } = {}): AsyncGenerator<string> {
  // Checked before the first line, so a refusal is an error response rather than a broken stream.
  authorize(caller, 'view_audit');
  return exportLines(caller, format, opts.batch ?? 500);
}

async function* exportLines(caller: Caller, format: 'csv' | 'jsonl', batch: number): AsyncGenerator<string> {
  if (format === 'csv') yield auditCsvColumns.join(',') + '\r\n';
  let after = 0;
  for (;;) {
    const rows = await db()
      .select()
      .from(schema.auditEvents)
      .where(and(orgScope(caller, schema.auditEvents), gt(schema.auditEvents.seq, after)))
      .orderBy(asc(schema.auditEvents.seq))
      .limit(batch);
    for (const r of rows) {
      const rec = exportRecord(r);
      yield format === 'csv' ? auditCsvColumns.map((c) => csvCell(rec[c])).join(',') + '\r\n' : JSON.stringify(rec) + '\n';
    }
    if (rows.length < batch) return;
    after = rows[rows.length - 1].seq;
  }
}

export function parseExportFormat(v: string | null | undefined): 'csv' | 'jsonl' {
  const f = (v ?? 'csv').toLowerCase();
  if (f !== 'csv' && f !== 'jsonl') throw new DomainError('invalid_request', `format must be 'csv' or 'jsonl', not '${v}'.`, { param: 'format' });
  return f;
}
