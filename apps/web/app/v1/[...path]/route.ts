import { handleOpenAI } from '@edgetune/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** OpenAI-compatible fine-tuning API (Authorization: Bearer <api key>). */
async function handler(req: Request): Promise<Response> {
  return handleOpenAI(req);
}

export { handler as GET, handler as POST, handler as PUT, handler as PATCH, handler as DELETE, handler as HEAD, handler as OPTIONS };
