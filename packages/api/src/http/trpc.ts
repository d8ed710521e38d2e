/** `/api/trpc`: the portal's tRPC endpoint over fetch Request/Response (the web route only adds the session). */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { retryAfterSecondsOf } from '@edgetune/auth';
import { appRouter } from '../root';
import { createTRPCContext } from '../trpc';

export function handleTrpc(req: Request, opts: { sessionUserId: string | null; endpoint?: string }): Promise<Response> {
  return fetchRequestHandler({
    endpoint: opts.endpoint ?? '/api/trpc',
    req,
    router: appRouter,
    // resHeaders: procedures set the active-organization cookie on the response.
    createContext: ({ resHeaders }) => createTRPCContext({ sessionUserId: opts.sessionUserId, headers: req.headers, resHeaders }),
    responseMeta({ errors }) {
      const retry = errors.map((e) => retryAfterSecondsOf(e.cause)).find((s) => s !== null);
      return retry ? { headers: new Headers({ 'retry-after': String(retry) }) } : {};
    },
  });
}
