/**
 * E-mail + password sign-in as next-auth's Credentials provider runs it: lockout check, password
 * check, attempt counting per account and per address, and an audit record either way.
 */
import { eq } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { writeAuditEvents } from './audit-log';
import { assertNotLocked, clearAttempts, countAttempt, limitKeys, lockedError, rateLimitRules } from './rate-limit';
import type { RequestMeta } from './request';
import { authenticateUser, findUserByEmail } from './users';

const what = 'failed sign-in attempts';

/** Audits a sign-in attempt in every org of the user (SSO sign-ins use it too). */
export async function recordSignIn(user: { id: string; email: string } | null, email: string, meta: RequestMeta, outcome: 'success' | 'failure', reason?: string, method = 'password') {
  // A sign-in belongs to the person, not to one organization: every org they are in sees it.
  const orgIds = user
    ? (await db().select({ orgId: schema.memberships.orgId }).from(schema.memberships).where(eq(schema.memberships.userId, user.id))).map((m) => m.orgId)
    : [];
  const base = {
    actorUserId: user?.id ?? null,
    actorLabel: user?.email ?? email.slice(0, 320),
    action: outcome === 'success' ? 'auth.signin' : 'auth.signin_failed',
    targetType: 'user',
    targetId: user?.id ?? null,
    outcome,
    ip: meta.ip,
    userAgent: meta.userAgent,
    data: { method, ...(reason ? { reason } : {}) },
  };
  await writeAuditEvents((orgIds.length ? orgIds : [null]).map((orgId) => ({ ...base, orgId })));
}

/**
 * The user for a correct e-mail and password, or null; throws RateLimitedError ("Too many failed
 * sign-in attempts. Try again in 14 minutes.") while the account or the address is locked.
 */
export async function passwordSignIn(
  emailInput: string,
  password: string,
  meta: RequestMeta = { ip: null, userAgent: null },
): Promise<{ id: string; email: string; name: string | null } | null> {
  const email = (emailInput ?? '').trim().toLowerCase();
  if (!email || !password) return null;
  const rules = rateLimitRules();
  const accountKey = limitKeys.signinAccount(email);
  const ipKey = meta.ip ? limitKeys.signinIp(meta.ip) : null;
  try {
    await assertNotLocked([accountKey, ipKey], what);
  } catch (e) {
    await recordSignIn(await findUserByEmail(email), email, meta, 'failure', 'locked');
    throw e;
  }
  const user = await authenticateUser(email, password);
  if (!user) {
    const locks = [await countAttempt(accountKey, rules.signinAccount), await countAttempt(ipKey, rules.signinIp)].filter((d): d is Date => !!d);
    await recordSignIn(await findUserByEmail(email), email, meta, 'failure', 'bad_credentials');
    if (locks.length) throw lockedError(what, new Date(Math.max(...locks.map((d) => d.getTime()))));
    return null;
  }
  await clearAttempts([accountKey]);
  await recordSignIn(user, email, meta, 'success');
  return user;
}
