import { handleRest } from '@edgetune/api';
import { getSessionUserId } from '@edgetune/auth';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** The platform's REST API; the portal calls it with its session cookie, programs with an API key. */
async function handler(req: Request): Promise<Response> {
  const sessionUserId = await getSessionUserId();
  return handleRest(req, { sessionUserId });
}

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE, handler as HEAD, handler as OPTIONS };
