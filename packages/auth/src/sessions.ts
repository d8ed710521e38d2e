/**
 * Session validity: a next-auth JWT carries the user id (`uid`) and the user's sessionVersion at
 * sign-in (`sv`). Bumping users.session_version (sign out everywhere, password reset) voids every
 * token issued before; a deleted user has no row and so no session.
 */
import { eq } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';

export interface SessionClaims {
  uid?: unknown;
  sv?: unknown;
}

/** The claims a new session stores for `userId`. */
export async function sessionClaimsFor(userId: string): Promise<{ uid: string; sv: number } | null> {
  const [u] = await db().select({ sv: schema.users.sessionVersion }).from(schema.users).where(eq(schema.users.id, userId)).limit(1);
  return u ? { uid: userId, sv: u.sv } : null;
}

/** The user id of a still-valid session token, or null (one query). */
export async function validSessionUserId(claims: SessionClaims | null | undefined): Promise<string | null> {
  const uid = claims?.uid;
  if (typeof uid !== 'string' || !uid) return null;
  const [u] = await db().select({ sv: schema.users.sessionVersion }).from(schema.users).where(eq(schema.users.id, uid)).limit(1);
  if (!u) return null;
  // Tokens issued before sessionVersion existed carry no `sv`; they count as version 0.
  const sv = typeof claims?.sv === 'number' ? claims.sv : 0;
  return u.sv === sv ? uid : null;
}
