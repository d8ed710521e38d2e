/**
 * The one request dispatcher of the HTTP adapters (`/v1` OpenAI-compatible, `/api/v1` REST):
 * match a route below the mount point, answer 404 / 405, resolve the caller, run the route, and
 * render any error in the surface's own format (internal errors are logged, never leaked).
 */
import { DomainError } from '@edgetune/contracts';
import { toDomainError } from '../errors';
import { logger } from '../logger';
import type { Caller } from '../tenant';

/** `C` is who calls: a Caller of an organization, or (agent routes) an organization pool's agent. */
export interface Route<C = Caller> {
  method: string;
  pattern: RegExp;
  /** `params` are the pattern's groups, URI-decoded (`params[0]` is the whole path). */
  run: (caller: C, req: Request, url: URL, params: string[]) => Promise<Response>;
}

export interface Surface<C = Caller> {
  /** For logs: which adapter failed. */
  name: string;
  /** Where the surface is mounted, e.g. '/v1' or '/api/v1'. */
  mount: string;
  routes: Route<C>[];
  /** Resolves the caller of a matched route (throws unauthenticated when there is none). */
  caller: (req: Request) => Promise<C>;
  /** A DomainError in this surface's error format. */
  error: (e: DomainError) => Response;
  /** 405 in this surface's error format; `allow` is the value of the Allow header. */
  methodNotAllowed: (message: string, allow: string) => Response;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The path below the mount point, without a trailing slash ('/' at the root). */
export function routePath(url: URL, mount: string): string {
  return url.pathname.replace(new RegExp(`^.*?${escapeRegExp(mount)}(?=/|$)`), '').replace(/\/+$/, '') || '/';
}

export async function dispatch<C>(req: Request, surface: Surface<C>): Promise<Response> {
  try {
    const url = new URL(req.url);
    // PostgreSQL text cannot hold NUL: refuse it at the edge rather than fail in a query.
    if (/%00/i.test(url.pathname) || /%00/i.test(url.search) || url.search.includes('\0')) {
      throw new DomainError('invalid_request', 'The URL contains a NUL character (%00), which no parameter may hold.');
    }
    const path = routePath(url, surface.mount);
    const matching = surface.routes.filter((r) => r.pattern.test(path));
    if (!matching.length) throw new DomainError('not_found', `Unknown endpoint: ${req.method} ${surface.mount}${path}`);
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      return surface.methodNotAllowed(`Method ${req.method} is not allowed for ${surface.mount}${path}.`, matching.map((r) => r.method).join(', '));
    }
    const caller = await surface.caller(req);
    const m = route.pattern.exec(path)!;
    return await route.run(caller, req, url, [...m].map((s, i) => (i === 0 ? s : decodeURIComponent(s))));
  } catch (e) {
    const d = toDomainError(e);
    if (d.code === 'internal') logger.error({ err: e }, `${surface.name} handler failed`);
    return surface.error(d);
  }
}
