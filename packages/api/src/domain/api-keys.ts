import { desc, eq, isNull } from 'drizzle-orm';
import { insertApiKey, type ApiKeyRow } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { authorize, findOwned, orgScope, type Caller } from '../tenant';

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

/** Creates a key; the clear `key` is returned only here, never again. */
export async function createApiKey(
  caller: Caller,
  input: { name: string; scopes?: string[]; expiresAt?: Date | null },
): Promise<ApiKeyView & { key: string }> {
  authorize(caller, 'manage_keys');
  const name = input.name?.trim();
  if (!name || name.length > 100) throw new DomainError('invalid_request', 'Key name must be 1–100 characters.', { param: 'name' });
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new DomainError('invalid_request', 'expiresAt must be in the future.', { param: 'expiresAt' });
  }
  if (caller.via === 'api_key' && input.scopes?.some((s) => !caller.scopes.includes(s) && !caller.scopes.includes('admin'))) {
    throw new DomainError('forbidden', 'An API key cannot create a key with scopes it does not have.', { param: 'scopes' });
  }
  const { key, ...row } = await insertApiKey({ orgId: caller.orgId, createdBy: caller.userId, name, scopes: input.scopes, expiresAt: input.expiresAt ?? null });
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
  const [updated] = await db()
    .update(schema.apiKeys)
    .set({ revokedAt: new Date() })
    .where(orgScope(caller, schema.apiKeys, eq(schema.apiKeys.id, id)))
    .returning();
  return view(updated);
}
