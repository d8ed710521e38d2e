import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { DomainError, newId } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { apiKeyScopes, type ApiKeyScope } from './permissions';

/** Keys look like `et_<12-char public prefix>_<32-char secret>`; only prefix + SHA-256 are stored. */
export const API_KEY_PREFIX_LENGTH = 12;
export const API_KEY_SECRET_LENGTH = 32;
const apiKeyPattern = new RegExp(`^et_([A-Za-z0-9]{${API_KEY_PREFIX_LENGTH}})_([A-Za-z0-9]{${API_KEY_SECRET_LENGTH}})$`);
const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // rejection sampling keeps the distribution uniform (248 = 4 * 62)
      if (b < 248 && out.length < length) out += alphabet[b % 62];
    }
  }
  return out;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBase62(API_KEY_PREFIX_LENGTH);
  const key = `et_${prefix}_${randomBase62(API_KEY_SECRET_LENGTH)}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The public prefix of a well-formed key, or null. */
export function parseApiKey(key: unknown): { prefix: string } | null {
  if (typeof key !== 'string') return null;
  const m = apiKeyPattern.exec(key.trim());
  return m ? { prefix: m[1] } : null;
}

/** Constant-time comparison of a presented key against a stored hex SHA-256. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function normalizeScopes(scopes: readonly string[] | undefined): ApiKeyScope[] {
  const list = scopes && scopes.length ? scopes : ['read', 'train', 'publish'];
  for (const s of list) {
    if (!(apiKeyScopes as readonly string[]).includes(s)) {
      throw new DomainError('invalid_request', `Unknown API key scope '${s}'; expected one of ${apiKeyScopes.join(', ')}.`, { param: 'scopes' });
    }
  }
  return [...new Set(list)] as ApiKeyScope[];
}

export type ApiKeyRow = typeof schema.apiKeys.$inferSelect;

/** Inserts a key row; the returned `key` is the only time the secret exists in clear. */
export async function insertApiKey(
  input: { orgId: string; createdBy: string | null; name: string; scopes?: readonly string[]; expiresAt?: Date | null },
  database: Db = db(),
): Promise<ApiKeyRow & { key: string }> {
  const scopes = normalizeScopes(input.scopes);
  const { key, prefix, hash } = generateApiKey();
  const [row] = await database
    .insert(schema.apiKeys)
    .values({ id: newId('apiKey'), orgId: input.orgId, createdBy: input.createdBy, name: input.name, prefix, hash, scopes, expiresAt: input.expiresAt ?? null })
    .returning();
  return { ...row, key };
}

export interface VerifiedApiKey {
  orgId: string;
  keyId: string;
  scopes: ApiKeyScope[];
}

/**
 * Why a presented key does not work. Revocation and expiry are only told to whoever presents the
 * whole key (the hash matched); anything else, including a key of a deleted organization, is
 * 'unknown'.
 */
/** `guessed`: the prefix names an existing key but the secret is wrong (a guess at that key, which its owner's audit log records). */
export type ApiKeyRefusal =
  | { reason: 'unknown'; guessedPrefix?: string; guessed?: { keyId: string; orgId: string } }
  | { reason: 'revoked'; at: Date }
  | { reason: 'expired'; at: Date };

export async function checkApiKey(key: string, database: Db = db()): Promise<{ ok: true; key: VerifiedApiKey } | ({ ok: false } & ApiKeyRefusal)> {
  const parsed = parseApiKey(key);
  if (!parsed) return { ok: false, reason: 'unknown' };
  const [row] = await database.select().from(schema.apiKeys).where(eq(schema.apiKeys.prefix, parsed.prefix)).limit(1);
  if (!row) return { ok: false, reason: 'unknown' };
  if (!apiKeyMatches(key.trim(), row.hash)) return { ok: false, reason: 'unknown', guessedPrefix: row.prefix, guessed: { keyId: row.id, orgId: row.orgId } };
  if (row.revokedAt) return { ok: false, reason: 'revoked', at: row.revokedAt };
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired', at: row.expiresAt };
  // Best effort; at most one write per key per minute.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await database
      .update(schema.apiKeys)
      .set({ lastUsedAt: new Date() })
      .where(eq(schema.apiKeys.id, row.id))
      .catch(() => undefined);
  }
  return { ok: true, key: { orgId: row.orgId, keyId: row.id, scopes: row.scopes as ApiKeyScope[] } };
}

/** Resolves a presented key; null for malformed, unknown, revoked or expired keys. */
export async function verifyApiKey(key: string, database: Db = db()): Promise<VerifiedApiKey | null> {
  const r = await checkApiKey(key, database);
  return r.ok ? r.key : null;
}
