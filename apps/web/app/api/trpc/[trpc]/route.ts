import { handleTrpc } from '@edgetune/api';
import { getSessionUserId } from '@edgetune/auth';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

async function handler(req: Request): Promise<Response> {
  return handleTrpc(req, { sessionUserId: await getSessionUserId() });
}

export { handler as GET, handler as POST };
