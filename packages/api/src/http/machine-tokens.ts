/**
 * The one way a machine's bearer token (a pool agent's, a fleet's, a device's) becomes its
 * holder: refused while the client address is locked, looked up, and on failure counted against
 * the address and answered 401 with `refusal` (or `missing` when no token was sent).
 */
import { assertNotLocked, countAttempt, lockedError, rateLimitRules, type RequestMeta } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';

export async function resolveMachineToken<T>(opts: {
  token: string | null;
  meta: RequestMeta;
  /** The rate-limit key of failed attempts from one address. */
  ipKey: (ip: string) => string;
  /** "failed pool token attempts from your address" */
  failures: string;
  lookup: (token: string) => Promise<T | null>;
  refusal: string;
  missing: string;
}): Promise<T> {
  const ipKey = opts.meta.ip ? opts.ipKey(opts.meta.ip) : null;
  await assertNotLocked([ipKey], opts.failures);
  const holder = opts.token ? await opts.lookup(opts.token) : null;
  if (holder) return holder;
  const until = await countAttempt(ipKey, rateLimitRules().apiKeyIp);
  if (until) throw lockedError(opts.failures, until);
  throw new DomainError('unauthenticated', opts.token ? opts.refusal : opts.missing);
}
