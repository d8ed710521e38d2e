import { asc, eq } from 'drizzle-orm';
import { isRole, verifyApiKey } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import type { Caller } from './tenant';

export type { Caller } from './tenant';

/** The bearer token of an `Authorization` header, or null when absent. */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  return m ? m[1].trim() : null;
}

/** The organization a session user acts in (their first membership for now). */
export async function callerForUser(userId: string): Promise<Caller | null> {
  const [m] = await db()
    .select()
    .from(schema.memberships)
    .where(eq(schema.memberships.userId, userId))
    .orderBy(asc(schema.memberships.createdAt))
    .limit(1);
  if (!m || !isRole(m.role)) return null;
  return { orgId: m.orgId, userId, role: m.role, via: 'session', scopes: [] };
}

export async function callerForApiKey(key: string): Promise<Caller | null> {
  const v = await verifyApiKey(key);
  if (!v) return null;
  return { orgId: v.orgId, userId: null, role: v.scopes.includes('admin') ? 'admin' : 'member', via: 'api_key', scopes: v.scopes, keyId: v.keyId };
}

/**
 * Resolves the caller from a bearer API key (preferred when present) or a session user id.
 * A present but invalid key is an error rather than a silent fallback to the session.
 */
export async function resolveCaller(opts: { sessionUserId?: string | null; authorization?: string | null }): Promise<Caller | null> {
  const token = bearerToken(opts.authorization);
  if (token) {
    const caller = await callerForApiKey(token);
    if (!caller) throw new DomainError('unauthenticated', 'Incorrect API key provided.', { param: null });
    return caller;
  }
  if (opts.sessionUserId) return callerForUser(opts.sessionUserId);
  return null;
}

/**
 * Like resolveCaller but throws unauthenticated when there is no caller; `anonymousMessage` says
 * what an anonymous request lacks (an API key by default; the portal says: a sign-in).
 */
export async function requireCaller(
  opts: { sessionUserId?: string | null; authorization?: string | null },
  anonymousMessage = "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
): Promise<Caller> {
  const caller = await resolveCaller(opts);
  if (!caller) throw new DomainError('unauthenticated', opts.sessionUserId ? 'Your account is not a member of any organization.' : anonymousMessage);
  return caller;
}
