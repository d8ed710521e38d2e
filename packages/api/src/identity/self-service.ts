/**
 * Account flows around a password account: sign-up with e-mail verification, password reset by
 * a one-time link, and signing out everywhere (sessionVersion).
 */
import { eq, sql } from 'drizzle-orm';
import {
  checkPasswordPolicy,
  clearAttempts,
  findUserByEmail,
  hashPassword,
  limitAttempt,
  limitKeys,
  rateLimitRules,
  type RequestMeta,
} from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { logger } from '../logger';
import { normalizeEmail, signUp, type SignUpInput, type SignUpResult } from './accounts';
import { recordAudit, recordForUser } from './audit';
import { portalUrl, sendEmail } from './email';
import { voidUnverifiedSetup } from './takeover';
import { checkUserToken, consumeUserToken, issueUserToken } from './user-tokens';

const noMeta: RequestMeta = { ip: null, userAgent: null };

/** Issues a verification token and e-mails its link (in `tx` when given). */
export async function sendVerificationEmail(user: { id: string; email: string }, tx?: Db): Promise<void> {
  const send = async (t: Db) => {
    const { token } = await issueUserToken(t, user.id, 'verify_email');
    const link = portalUrl(`/verify-email?token=${token}`);
    await sendEmail(
      {
        to: user.email,
        kind: 'verify_email',
        subject: 'Confirm your e-mail address for edgetune',
        text: `Confirm your e-mail address by opening this link (it works once, for 24 hours):\n\n${link}\n\nIf you did not create an edgetune account, ignore this message.\n`,
      },
      t,
    );
  };
  if (tx) await send(tx);
  else await db().transaction(send);
}

/**
 * The portal's sign-up: per-address limit, the account and its organization, then the
 * verification e-mail. A failed e-mail does not undo the account (it can be re-sent).
 */
export async function registerAccount(input: SignUpInput, meta: RequestMeta = noMeta): Promise<SignUpResult> {
  await limitAttempt([{ key: meta.ip ? limitKeys.signupIp(meta.ip) : null, rule: rateLimitRules().signupIp }], 'sign-ups from your address');
  const r = await signUp(input);
  await recordAudit(
    { orgId: r.org.id, userId: r.user.id, ip: meta.ip, userAgent: meta.userAgent },
    { action: 'org.created', targetType: 'org', targetId: r.org.id, data: { name: r.org.name, via: 'sign_up' } },
  );
  try {
    await sendVerificationEmail(r.user);
  } catch (e) {
    logger.warn({ userId: r.user.id, err: (e as Error).message }, 'verification e-mail not sent at sign-up');
  }
  return r;
}

export async function resendVerification(userId: string): Promise<{ ok: true; email: string }> {
  const [u] = await db().select().from(schema.users).where(eq(schema.users.id, userId)).limit(1);
  if (!u) throw new DomainError('unauthenticated', 'You must be signed in.');
  if (u.emailVerifiedAt) throw new DomainError('conflict', `Your e-mail address ${u.email} is already verified.`);
  await limitAttempt([{ key: limitKeys.verifyResend(userId), rule: rateLimitRules().resetAccount }], 'verification e-mails');
  await sendVerificationEmail(u);
  return { ok: true, email: u.email };
}

/** Confirms the address the token was sent to. */
export async function verifyEmail(token: unknown): Promise<{ email: string }> {
  return db().transaction(async (tx) => {
    const userId = await consumeUserToken(tx, token, 'verify_email');
    const [u] = await tx
      .update(schema.users)
      .set({ emailVerifiedAt: sql`coalesce(${schema.users.emailVerifiedAt}, now())` })
      .where(eq(schema.users.id, userId))
      .returning({ email: schema.users.email });
    return { email: u.email };
  });
}

/**
 * E-mails a reset link when the account exists; answers the same either way, so the form
 * cannot be used to find out who has an account. Limited per account and per address.
 */
export async function requestPasswordReset(emailInput: unknown, meta: RequestMeta = noMeta): Promise<{ ok: true }> {
  const email = normalizeEmail(emailInput);
  const rules = rateLimitRules();
  await limitAttempt(
    [
      { key: limitKeys.resetAccount(email), rule: rules.resetAccount },
      { key: meta.ip ? limitKeys.resetIp(meta.ip) : null, rule: rules.resetIp },
    ],
    'password reset requests',
  );
  const user = await findUserByEmail(email);
  if (!user) return { ok: true };
  try {
    await db().transaction(async (tx) => {
      const { token } = await issueUserToken(tx, user.id, 'reset_password');
      const link = portalUrl(`/reset-password?token=${token}`);
      await sendEmail(
        {
          to: user.email,
          kind: 'reset_password',
          subject: 'Reset your edgetune password',
          text: `Someone (hopefully you) asked to reset the password of your edgetune account.\n\nChoose a new password here (the link works once, for 1 hour):\n\n${link}\n\nIf you did not ask for this, ignore this message; your password stays as it is.\n`,
        },
        tx,
      );
    });
  } catch (e) {
    logger.warn({ userId: user.id, err: (e as Error).message }, 'password reset e-mail not sent');
  }
  return { ok: true };
}

/**
 * Sets a new password with a reset token (once, within an hour); every existing session ends
 * and the account's sign-in lockout is lifted. Proves the address too, so it counts as verified;
 * on an account that was unverified, what it set up is removed (takeover.ts). The token is
 * checked before the (deliberately slow) password hash, and submissions are limited per address.
 */
export async function resetPassword(token: unknown, password: unknown, meta: RequestMeta = noMeta): Promise<{ ok: true }> {
  await limitAttempt([{ key: meta.ip ? limitKeys.resetSubmitIp(meta.ip) : null, rule: rateLimitRules().resetIp }], 'password reset attempts from your address');
  checkPasswordPolicy(password);
  // A bad token (unknown, used or expired) is refused without paying for the hash.
  await checkUserToken(db(), token, 'reset_password');
  const passwordHash = await hashPassword(password);
  const email = await db().transaction(async (tx) => {
    const userId = await consumeUserToken(tx, token, 'reset_password');
    const [before] = await tx.select({ verifiedAt: schema.users.emailVerifiedAt }).from(schema.users).where(eq(schema.users.id, userId)).for('update').limit(1);
    const [u] = await tx
      .update(schema.users)
      .set({ passwordHash, sessionVersion: sql`${schema.users.sessionVersion} + 1`, emailVerifiedAt: sql`coalesce(${schema.users.emailVerifiedAt}, now())` })
      .where(eq(schema.users.id, userId))
      .returning({ email: schema.users.email });
    await recordForUser(userId, meta, { action: 'auth.password_reset' }, tx);
    if (before && !before.verifiedAt) await voidUnverifiedSetup(tx, userId, 'password_reset', meta);
    return u.email;
  });
  await clearAttempts([limitKeys.signinAccount(email)]);
  return { ok: true };
}

/** Ends every session of the user (all browsers): JWTs issued before carry an older version. */
export async function signOutEverywhere(userId: string, meta: RequestMeta = noMeta): Promise<{ ok: true }> {
  await db().transaction(async (tx) => {
    const [u] = await tx
      .update(schema.users)
      .set({ sessionVersion: sql`${schema.users.sessionVersion} + 1` })
      .where(eq(schema.users.id, userId))
      .returning({ id: schema.users.id });
    if (!u) throw new DomainError('unauthenticated', 'You must be signed in.');
    await recordForUser(userId, meta, { action: 'auth.signout_everywhere' }, tx);
  });
  return { ok: true };
}
