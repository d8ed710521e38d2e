import { loadConfig } from '@edgetune/config';

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
 * The client address: the X-Forwarded-For entry added by the nearest untrusted hop (entries left
 * of it can be forged by the client), else X-Real-IP. `TRUST_PROXY_HOPS` counts the reverse
 * proxies in front of the app.
 */
export function clientIp(headers: HeaderSource, trustedHops = loadConfig().TRUST_PROXY_HOPS): string | null {
  const forwarded = headerValue(headers, 'x-forwarded-for');
  if (forwarded) {
    const hops = forwarded.split(',').map((s) => s.trim()).filter(Boolean);
    const pick = hops[Math.max(0, hops.length - 1 - trustedHops)];
    if (pick) return pick.slice(0, 100);
  }
  return headerValue(headers, 'x-real-ip')?.trim().slice(0, 100) || null;
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
