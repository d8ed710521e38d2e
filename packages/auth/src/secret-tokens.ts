/**
 * Bearer tokens that machines hold (a pool's or a fleet's enrollment token, a device's token):
 * a type prefix and 40 random base62 characters (~238 bits). They are high-entropy, so their
 * sha256 is enough to store them; the plain token is shown once.
 */
import { createHash, randomBytes } from 'node:crypto';

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** `prefix` names the kind, e.g. 'etp_' (pool enrollment), 'etf_' (fleet enrollment), 'etd_' (device). */
export function newSecretToken(prefix: string): { token: string; hash: string; shown: string } {
  let secret = '';
  // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
  while (secret.length < 40) for (const b of randomBytes(48)) if (b < 248 && secret.length < 40) secret += alphabet[b % 62];
  const token = `${prefix}${secret}`;
  return { token, hash: hashSecretToken(token), shown: token.slice(0, prefix.length + 6) };
}

/** True when `token` has the shape of a token of this kind (checked before any database lookup). */
export function looksLikeSecretToken(token: string | null | undefined, prefix: string): token is string {
  return typeof token === 'string' && token.length === prefix.length + 40 && token.startsWith(prefix) && /^[A-Za-z0-9]+$/.test(token.slice(prefix.length));
}
