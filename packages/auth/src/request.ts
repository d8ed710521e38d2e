import { isIP, isIPv4 } from 'node:net';

/** Where a request came from, as recorded in the audit log and used for per-address limits. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

/** Web `Headers` or the plain header object next-auth v4 hands to `authorize`. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined> | null | undefined;

export function headerValue(headers: HeaderSource, name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const rec = headers as Record<string, string | string[] | undefined>;
  const v = rec[name] ?? rec[name.toLowerCase()] ?? Object.entries(rec).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(v) ? v.join(', ') : (v ?? null);
}

/**
 * The header that carries the client address from the web server (apps/web/server.ts) to the
 * route handlers. The server always overwrites it, so a client cannot choose it; nothing else
 * (X-Forwarded-For, X-Real-IP) is read by the handlers.
 */
export const CLIENT_ADDRESS_HEADER = 'x-edgetune-client-address';

const MAX_FORWARDED_CHARS = 8 * 1024;

function plainAddress(a: string): string {
  const s = a.trim();
  // IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d
  return s.toLowerCase().startsWith('::ffff:') && isIPv4(s.slice(7)) ? s.slice(7) : s;
}

/**
 * The client of a connection: the socket's peer, unless `trustedHops` reverse proxies stand in
 * front of the app; then the entry the outermost trusted proxy appended to X-Forwarded-For (the
 * right-most entry no trusted hop vouches for). Entries left of it are the client's own words
 * and are never used. A value that is not an IP address falls back to the socket's peer.
 */
export function resolveClientAddress(socketAddress: string | null | undefined, forwardedFor: string | string[] | null | undefined, trustedHops: number): string | null {
  const socket = socketAddress ? plainAddress(socketAddress) : null;
  if (trustedHops <= 0) return socket;
  const raw = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).slice(-MAX_FORWARDED_CHARS);
  // The chain, nearest last: X-Forwarded-For entries, then the socket's peer (the nearest proxy).
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  const chain = socket ? [...entries, socket] : entries;
  const pick = chain[Math.max(0, chain.length - 1 - trustedHops)];
  const candidate = pick ? plainAddress(pick) : null;
  return candidate && isIP(candidate) ? candidate : socket;
}

/** The client address the web server resolved for this request (null in-process or when unknown). */
export function clientIp(headers: HeaderSource): string | null {
  return headerValue(headers, CLIENT_ADDRESS_HEADER)?.trim().slice(0, 100) || null;
}

export function requestMeta(headers: HeaderSource): RequestMeta {
  return { ip: clientIp(headers), userAgent: headerValue(headers, 'user-agent')?.slice(0, 500) || null };
}

/** One cookie's value from a Cookie header, or null. */
export function cookieValue(headers: HeaderSource, name: string): string | null {
  const raw = headerValue(headers, 'cookie');
  if (!raw) return null;
  for (const part of raw.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}
