import { and, asc, eq } from 'drizzle-orm';
import {
  apiKeyRole,
  assertNotLocked,
  checkApiKey,
  cookieValue,
  countAttempt,
  isRole,
  limitKeys,
  lockedError,
  parseApiKey,
  rateLimitRules,
  requestMeta,
  type HeaderSource,
  type RequestMeta,
} from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { recordAudit } from './identity/audit';
import type { Caller } from './tenant';

export type { Caller } from './tenant';

/** The httpOnly cookie that holds a browser session's active organization. */
export const ORG_COOKIE = 'et_org';

const noMeta: RequestMeta = { ip: null, userAgent: null };

/** The bearer token of an `Authorization` header, or null when absent. */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  return m ? m[1].trim() : null;
}

/**
 * The organization a session user acts in: `orgId` (the `et_org` cookie) when they are a member
 * of it, else their first membership. Memberships are read on every request, so a removed member
 * loses access at once.
 */
export async function callerForUser(userId: string, opts: { orgId?: string | null; meta?: RequestMeta } = {}): Promise<Caller | null> {
  const meta = opts.meta ?? noMeta;
  const membership = () =>
    db()
      .select({ orgId: schema.memberships.orgId, role: schema.memberships.role, verifiedAt: schema.users.emailVerifiedAt })
      .from(schema.memberships)
      .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId));
  let [m] = opts.orgId ? await membership().where(and(eq(schema.memberships.userId, userId), eq(schema.memberships.orgId, opts.orgId))).limit(1) : [];
  m ??= (await membership().where(eq(schema.memberships.userId, userId)).orderBy(asc(schema.memberships.createdAt), asc(schema.memberships.orgId)).limit(1))[0];
  if (!m || !isRole(m.role)) return null;
  return { orgId: m.orgId, userId, role: m.role, via: 'session', scopes: [], emailVerified: m.verifiedAt !== null, ip: meta.ip, userAgent: meta.userAgent };
}

const keyFailures = 'failed API key attempts from your address';
const keyGuesses = 'failed attempts with this API key from your address';

/**
 * The caller of an API key (acting in the key's organization), or an unauthenticated error that
 * says why the key does not work. Failures count against the client address; guesses at an
 * existing key (its prefix with a wrong secret) count against that key *from that address*, at a
 * lower limit. Neither ever locks the genuine key out for anyone else: knowing a key's prefix
 * (shown in lists and audit labels) must not let a stranger deny its owner service.
 */
export async function callerForApiKey(key: string, meta: RequestMeta = noMeta): Promise<Caller> {
  const ipKey = meta.ip ? limitKeys.apiKeyIp(meta.ip) : null;
  const prefix = parseApiKey(key)?.prefix;
  const guessKey = prefix && meta.ip ? limitKeys.apiKeyGuess(prefix, meta.ip) : null;
  await assertNotLocked([ipKey], keyFailures);
  await assertNotLocked([guessKey], keyGuesses);
  const r = await checkApiKey(key);
  if (r.ok) {
    const v = r.key;
    return { orgId: v.orgId, userId: null, role: apiKeyRole(v.scopes), via: 'api_key', scopes: v.scopes, keyId: v.keyId, ip: meta.ip, userAgent: meta.userAgent };
  }
  const rules = rateLimitRules();
  const lockedUntil = await countAttempt(ipKey, rules.apiKeyIp);
  if (lockedUntil) throw lockedError(keyFailures, lockedUntil);
  if (r.reason === 'unknown' && r.guessed) {
    // The owner learns that someone holds the key's prefix and is guessing its secret (bounded by the limits above and below).
    await recordAudit(
      { orgId: r.guessed.orgId, label: 'someone with a wrong secret', ip: meta.ip, userAgent: meta.userAgent },
      { action: 'api_key.guess_refused', targetType: 'api_key', targetId: r.guessed.keyId, outcome: 'failure', data: { prefix: r.guessedPrefix } },
    );
  }
  if (r.reason === 'unknown' && r.guessedPrefix && meta.ip) {
    const keyLockedUntil = await countAttempt(limitKeys.apiKeyGuess(r.guessedPrefix, meta.ip), rules.apiKeyAccount);
    if (keyLockedUntil) throw lockedError(keyGuesses, keyLockedUntil);
  }
  const message =
    r.reason === 'revoked'
      ? `This API key was revoked on ${r.at.toISOString()}; create a new one.`
      : r.reason === 'expired'
        ? `This API key expired on ${r.at.toISOString()}; create a new one.`
        : 'Incorrect API key provided. Keys that were deleted with their organization no longer exist.';
  throw new DomainError('unauthenticated', message, { param: null });
}

export interface CallerRequest {
  sessionUserId?: string | null;
  authorization?: string | null;
  /** Request headers: client address, user agent and the `et_org` cookie. */
  headers?: HeaderSource;
}

/**
 * Resolves the caller from a bearer API key (preferred when present) or a session user id.
 * A present but invalid key is an error rather than a silent fallback to the session.
 */
export async function resolveCaller(opts: CallerRequest): Promise<Caller | null> {
  const meta = opts.headers ? requestMeta(opts.headers) : noMeta;
  const token = bearerToken(opts.authorization);
  if (token) return callerForApiKey(token, meta);
  if (opts.sessionUserId) return callerForUser(opts.sessionUserId, { orgId: cookieValue(opts.headers, ORG_COOKIE), meta });
  return null;
}

/**
 * Like resolveCaller but throws unauthenticated when there is no caller; `anonymousMessage` says
 * what an anonymous request lacks (an API key by default; the portal says: a sign-in).
 */
export async function requireCaller(opts: CallerRequest, anonymousMessage = "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."): Promise<Caller> {
  const caller = await resolveCaller(opts);
  if (!caller) throw new DomainError('unauthenticated', opts.sessionUserId ? 'Your account is not a member of any organization.' : anonymousMessage);
  return caller;
}

/** Set-Cookie value selecting the active organization of this browser (httpOnly, SameSite=Lax). */
export function orgCookie(orgId: string | null, secure: boolean): string {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])];
  return orgId ? [`${ORG_COOKIE}=${encodeURIComponent(orgId)}`, 'Max-Age=31536000', ...attrs].join('; ') : [`${ORG_COOKIE}=`, 'Max-Age=0', ...attrs].join('; ');
}
