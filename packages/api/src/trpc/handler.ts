/** `/api/trpc`: the portal's tRPC endpoint over fetch Request/Response (the web route only adds the session). */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { retryAfterSecondsOf } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { appRouter } from './root';
import { hasNul, MAX_JSON_BODY_BYTES, readBodyBytes } from '../http/util';
import { createTRPCContext } from './procedures';

/**
 * The body is read with a byte limit before tRPC sees it (its fetch adapter reads bodies whole),
 * so an oversized request is refused with 413 as it streams.
 */
export async function handleTrpc(incoming: Request, opts: { sessionUserId: string | null; endpoint?: string }): Promise<Response> {
  let req = incoming;
  const nul = () => refusal(400, 'BAD_REQUEST', 'The input contains a NUL character (\\u0000), which no field may hold.');
  const search = new URL(incoming.url).search;
  // %00 is looked for as written too: a malformed escape elsewhere leaves the query undecoded.
  if (/%00/i.test(search) || hasNul(decodeURIComponentSafe(search))) return nul();
  if (incoming.method !== 'GET' && incoming.method !== 'HEAD') {
    try {
      const body = await readBodyBytes(incoming, MAX_JSON_BODY_BYTES);
      if (hasNul(body.toString('latin1'))) return nul();
      req = new Request(incoming.url, { method: incoming.method, headers: incoming.headers, body: new Uint8Array(body), signal: incoming.signal });
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'payload_too_large') throw e;
      return refusal(413, 'PAYLOAD_TOO_LARGE', e.message);
    }
  }
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

/** An error in tRPC's response shape, for requests refused before tRPC sees them. */
function refusal(httpStatus: number, code: string, message: string): Response {
  return Response.json({ error: { json: { message, code: -32600, data: { code, httpStatus } } } }, { status: httpStatus });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
