/**
 * A same-site path to go to after signing up or in, from an untrusted `callbackUrl`; `fallback`
 * for anything else (absolute URLs, protocol-relative `//host`, the auth pages themselves).
 */
export function safeCallbackPath(raw: unknown, fallback = '/jobs'): string {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  try {
    const u = new URL(raw, 'http://localhost');
    if (u.origin !== 'http://localhost' || u.pathname.startsWith('/signin') || u.pathname.startsWith('/signup')) return fallback;
    return u.pathname + u.search;
  } catch {
    return fallback;
  }
}
