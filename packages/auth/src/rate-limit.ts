/**
 * Brute-force protection: fixed-window counters in `rate_limits`, one row per key (an account or
 * an address of one kind of attempt). Reaching a rule's maximum inside its window locks the key;
 * a locked key is refused before any password or key is checked.
 */
import { inArray, sql } from 'drizzle-orm';
import { loadConfig, type Config } from '@edgetune/config';
import { DomainError } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';

export interface LimitRule {
  /** Attempts per window; the attempt that reaches it sets the lock. */
  max: number;
  windowMs: number;
  lockMs: number;
}

const minute = 60_000;

export function rateLimitRules(c: Config = loadConfig()) {
  const rule = (max: number): LimitRule => ({ max, windowMs: c.RATE_LIMIT_WINDOW_MINUTES * minute, lockMs: c.RATE_LIMIT_LOCKOUT_MINUTES * minute });
  return {
    signinAccount: rule(c.RATE_LIMIT_SIGNIN_ACCOUNT),
    signinIp: rule(c.RATE_LIMIT_SIGNIN_IP),
    signupIp: rule(c.RATE_LIMIT_SIGNUP_IP),
    resetAccount: rule(c.RATE_LIMIT_RESET_ACCOUNT),
    resetIp: rule(c.RATE_LIMIT_RESET_IP),
    apiKeyIp: rule(c.RATE_LIMIT_API_KEY_IP),
    apiKeyAccount: rule(c.RATE_LIMIT_API_KEY_ACCOUNT),
    /** A flooding agent is slowed for a minute, not locked out for the lockout period. */
    poolAgent: { max: c.RATE_LIMIT_POOL_AGENT, windowMs: minute, lockMs: minute } satisfies LimitRule,
  };
}

/** Keys of the counters, by kind of attempt. */
export const limitKeys = {
  signinAccount: (email: string) => `signin:email:${email.trim().toLowerCase()}`,
  signinIp: (ip: string) => `signin:ip:${ip}`,
  signupIp: (ip: string) => `signup:ip:${ip}`,
  resetAccount: (email: string) => `reset:email:${email.trim().toLowerCase()}`,
  resetIp: (ip: string) => `reset:ip:${ip}`,
  /** Submitted reset tokens (the new-password form) per address. */
  resetSubmitIp: (ip: string) => `reset-submit:ip:${ip}`,
  verifyResend: (userId: string) => `verify:user:${userId}`,
  apiKeyIp: (ip: string) => `apikey:ip:${ip}`,
  /** Wrong secrets for one existing key from one address. */
  apiKeyGuess: (prefix: string, ip: string) => `apikey:key:${prefix}:ip:${ip}`,
  /** Requests of one organization pool's agents. */
  poolAgent: (poolId: string) => `pool:${poolId}`,
  /** Wrong pool enrollment tokens per address. */
  poolTokenIp: (ip: string) => `pooltoken:ip:${ip}`,
  /** Wrong fleet enrollment or device tokens per address. */
  fleetTokenIp: (ip: string) => `fleettoken:ip:${ip}`,
};

/** DomainError `rate_limited` that also says when to retry (adapters send it as Retry-After). */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', message);
  }
}

export function retryAfterSecondsOf(e: unknown): number | null {
  const v = (e as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  return typeof v === 'number' && v > 0 ? Math.ceil(v) : null;
}

/** "Too many failed sign-in attempts. Try again in 14 minutes." */
export function lockedError(what: string, until: Date, now = Date.now()): RateLimitedError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now) / 1000));
  const minutes = Math.ceil(seconds / 60);
  return new RateLimitedError(`Too many ${what}. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, seconds);
}

/** Throws a RateLimitedError naming `what` when any of `keys` is locked now. */
export async function assertNotLocked(keys: (string | null)[], what: string, database: Db = db()): Promise<void> {
  const list = keys.filter((k): k is string => !!k);
  if (!list.length) return;
  const rows = await database
    .select({ lockedUntil: schema.rateLimits.lockedUntil })
    .from(schema.rateLimits)
    .where(sql`${inArray(schema.rateLimits.key, list)} and ${schema.rateLimits.lockedUntil} > now()`);
  const until = rows.reduce<Date | null>((max, r) => (r.lockedUntil && (!max || r.lockedUntil > max) ? r.lockedUntil : max), null);
  if (until) throw lockedError(what, until);
}

/** Counts one attempt; returns the lock's end when this attempt reached the rule's maximum. */
export async function countAttempt(key: string | null, rule: LimitRule, database: Db = db()): Promise<Date | null> {
  if (!key) return null;
  const expired = sql`rate_limits.window_start <= now() - ${rule.windowMs} * interval '1 millisecond'`;
  const next = sql`case when ${expired} then 1 else rate_limits.count + 1 end`;
  const lock = sql`now() + ${rule.lockMs} * interval '1 millisecond'`;
  const r = await database.execute<{ count: number; locked_until: Date | null; locked_now: boolean }>(sql`
    insert into rate_limits (key, window_start, count, locked_until)
    values (${key}, now(), 1, case when 1 >= ${rule.max} then ${lock} else null end)
    on conflict (key) do update set
      window_start = case when ${expired} then now() else rate_limits.window_start end,
      count = ${next},
      locked_until = case when ${next} >= ${rule.max} then ${lock} else rate_limits.locked_until end
    returning count, locked_until, (count >= ${rule.max}) as locked_now`);
  const row = r.rows[0];
  return row?.locked_now && row.locked_until ? new Date(row.locked_until) : null;
}

/** Forgets the attempts of keys (e.g. an account after a successful sign-in or reset); returns how many were kept. */
export async function clearAttempts(keys: (string | null)[], database: Db = db()): Promise<number> {
  const list = keys.filter((k): k is string => !!k);
  if (!list.length) return 0;
  return (await database.delete(schema.rateLimits).where(inArray(schema.rateLimits.key, list)).returning({ key: schema.rateLimits.key })).length;
}

/**
 * The common shape of a limited action that counts every attempt (sign-up, reset requests):
 * refuse while locked, then count this attempt.
 */
export async function limitAttempt(entries: { key: string | null; rule: LimitRule }[], what: string): Promise<void> {
  await assertNotLocked(
    entries.map((e) => e.key),
    what,
  );
  for (const e of entries) await countAttempt(e.key, e.rule);
}
