import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { appRouter, createTRPCContext } from '@edgetune/api';
import { getSessionUserId } from '@edgetune/auth';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

async function handler(req: Request): Promise<Response> {
  const sessionUserId = await getSessionUserId();
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: () => createTRPCContext({ sessionUserId, headers: req.headers }),
  });
}

export { handler as GET, handler as POST };
