/**
 * Secrets sent by e-mail (verification, password reset, invitations): 32 random bytes,
 * base64url; only their SHA-256 is stored, so a database leak cannot use them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { DomainError, newId } from '@edgetune/contracts';
import { schema, type Db } from '@edgetune/db';

export function newSecretToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Well-formed tokens only: anything else is answered like an unknown token, without a query. */
export function isTokenShape(token: unknown): token is string {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}

export type UserTokenPurpose = (typeof schema.userTokens.$inferSelect)['purpose'];

export const tokenLifetimes: Record<UserTokenPurpose, number> = {
  verify_email: 24 * 3600_000,
  reset_password: 3600_000,
};

/** Issues a token for `userId`; earlier unused tokens of the same purpose stop working. */
export async function issueUserToken(tx: Db, userId: string, purpose: UserTokenPurpose): Promise<{ token: string; expiresAt: Date }> {
  const { token, hash } = newSecretToken();
  const expiresAt = new Date(Date.now() + tokenLifetimes[purpose]);
  await tx
    .update(schema.userTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(schema.userTokens.userId, userId), eq(schema.userTokens.purpose, purpose), isNull(schema.userTokens.usedAt)));
  await tx.insert(schema.userTokens).values({ id: newId('userToken'), userId, purpose, tokenHash: hash, expiresAt });
  return { token, expiresAt };
}

const what: Record<UserTokenPurpose, { link: string; again: string }> = {
  verify_email: { link: 'verification link', again: 'request a new one from your account page' },
  reset_password: { link: 'password reset link', again: 'request a new one' },
};

function unknownToken(purpose: UserTokenPurpose): DomainError {
  const w = what[purpose];
  return new DomainError('invalid_request', `This ${w.link} is not valid; ${w.again}.`, { param: 'token' });
}

/** Why a token that cannot be used now is refused: unknown, used (or superseded), or expired. */
async function refusal(database: Db, hash: string, purpose: UserTokenPurpose): Promise<DomainError> {
  const w = what[purpose];
  const [row] = await database.select().from(schema.userTokens).where(and(eq(schema.userTokens.tokenHash, hash), eq(schema.userTokens.purpose, purpose))).limit(1);
  if (!row) return unknownToken(purpose);
  if (row.usedAt) return new DomainError('invalid_request', `This ${w.link} has already been used (or a newer one was sent); ${w.again}.`, { param: 'token' });
  return new DomainError('invalid_request', `This ${w.link} has expired; ${w.again}.`, { param: 'token' });
}

const usable = (hash: string, purpose: UserTokenPurpose) =>
  and(eq(schema.userTokens.tokenHash, hash), eq(schema.userTokens.purpose, purpose), isNull(schema.userTokens.usedAt), gt(schema.userTokens.expiresAt, sql`now()`));

/**
 * Throws the error `consumeUserToken` would unless the token is usable now; uses nothing. Lets a
 * caller refuse a bad token before doing expensive work (hashing a new password).
 */
export async function checkUserToken(database: Db, token: unknown, purpose: UserTokenPurpose): Promise<void> {
  if (!isTokenShape(token)) throw unknownToken(purpose);
  const hash = hashToken(token);
  const [ok] = await database.select({ id: schema.userTokens.id }).from(schema.userTokens).where(usable(hash, purpose)).limit(1);
  if (!ok) throw await refusal(database, hash, purpose);
}

/**
 * Marks the token used (once: concurrent uses race on one conditional UPDATE) and returns its
 * user id; otherwise says whether it is unknown, expired or already used.
 */
export async function consumeUserToken(tx: Db, token: unknown, purpose: UserTokenPurpose): Promise<string> {
  if (!isTokenShape(token)) throw unknownToken(purpose);
  const hash = hashToken(token);
  const [used] = await tx.update(schema.userTokens).set({ usedAt: new Date() }).where(usable(hash, purpose)).returning({ userId: schema.userTokens.userId });
  if (used) return used.userId;
  throw await refusal(tx, hash, purpose);
}
