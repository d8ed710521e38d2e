import { desc, eq, isNull } from 'drizzle-orm';
import { insertApiKey, type ApiKeyRow } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { authorize, findOwned, orgScope, type Caller } from '../tenant';
import { recordAudit } from './audit';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  /** What the key looks like, without its secret. */
  redacted: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

function view(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    redacted: `et_${row.prefix}_…`,
    scopes: row.scopes,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}

/**
 * An expiry given as a Date or an ISO 8601 string; a date without a time means "valid through
 * that day" (UTC), so the key stops working at the next midnight UTC.
 */
export function parseExpiry(value: Date | string | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  let d: Date;
  if (value instanceof Date) d = value;
  else if (/^\d{4}-\d{2}-\d{2}$/.test(value)) d = new Date(Date.parse(`${value}T00:00:00Z`) + 24 * 3600_000);
  else d = new Date(/^\d{4}-\d{2}-\d{2}T/.test(value) ? value : NaN);
  if (Number.isNaN(d.getTime())) throw new DomainError('invalid_request', `expiresAt must be an ISO 8601 date or date-time, not '${String(value)}'.`, { param: 'expiresAt' });
  if (d.getTime() <= Date.now()) throw new DomainError('invalid_request', 'expiresAt must be in the future.', { param: 'expiresAt' });
  return d;
}

/** Creates a key; the clear `key` is returned only here, never again. */
export async function createApiKey(
  caller: Caller,
  input: { name: string; scopes?: string[]; expiresAt?: Date | string | null },
): Promise<ApiKeyView & { key: string }> {
  authorize(caller, 'manage_keys');
  const name = input.name?.trim();
  if (!name || name.length > 100) throw new DomainError('invalid_request', 'Key name must be 1–100 characters.', { param: 'name' });
  const expiresAt = parseExpiry(input.expiresAt);
  if (caller.via === 'api_key' && input.scopes?.some((s) => !caller.scopes.includes(s) && !caller.scopes.includes('admin'))) {
    throw new DomainError('forbidden', 'An API key cannot create a key with scopes it does not have.', { param: 'scopes' });
  }
  const { key, ...row } = await db().transaction(async (tx) => {
    const created = await insertApiKey({ orgId: caller.orgId, createdBy: caller.userId, name, scopes: input.scopes, expiresAt }, tx);
    await recordAudit(caller, { action: 'api_key.created', targetType: 'api_key', targetId: created.id, data: { name, prefix: created.prefix, scopes: created.scopes, expiresAt } }, tx);
    return created;
  });
  return { ...view(row), key };
}

export async function listApiKeys(caller: Caller, opts: { includeRevoked?: boolean } = {}): Promise<ApiKeyView[]> {
  authorize(caller, 'manage_keys');
  const rows = await db()
    .select()
    .from(schema.apiKeys)
    .where(orgScope(caller, schema.apiKeys, opts.includeRevoked ? undefined : isNull(schema.apiKeys.revokedAt)))
    .orderBy(desc(schema.apiKeys.createdAt));
  return rows.map(view);
}

export async function revokeApiKey(caller: Caller, id: string): Promise<ApiKeyView> {
  authorize(caller, 'manage_keys');
  const row = await findOwned(caller, schema.apiKeys, id, 'API key');
  if (row.revokedAt) return view(row);
  return db().transaction(async (tx) => {
    const [updated] = await tx
      .update(schema.apiKeys)
      .set({ revokedAt: new Date() })
      .where(orgScope(caller, schema.apiKeys, eq(schema.apiKeys.id, id), isNull(schema.apiKeys.revokedAt)))
      .returning();
    if (!updated) return view(row);
    await recordAudit(caller, { action: 'api_key.revoked', targetType: 'api_key', targetId: id, data: { name: updated.name, prefix: updated.prefix } }, tx);
    return view(updated);
  });
}
