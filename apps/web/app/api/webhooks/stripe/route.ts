import { handleStripeWebhook, logger } from '@edgetune/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

/** Stripe's webhook endpoint: no session, no API key; the Stripe-Signature header is the credential. */
export async function POST(req: Request): Promise<Response> {
  try {
    return await handleStripeWebhook(req);
  } catch (e) {
    // 500 makes Stripe deliver the event again later; nothing was recorded for it.
    logger.error({ err: (e as Error).stack }, 'stripe webhook failed');
    return Response.json({ error: { code: 'internal', message: 'The webhook could not be processed; Stripe will retry.', param: null, details: [] } }, { status: 500 });
  }
}
