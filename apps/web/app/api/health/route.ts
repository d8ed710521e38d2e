import { healthCheck, logger, publicHealth } from '@edgetune/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const headers = { 'cache-control': 'no-store' };

/**
 * Anonymous: each component's ok / error only. What failed and why (addresses, queues, error
 * texts) goes to the web app's log and `npm run admin -- health`, never to the caller.
 */
export async function GET(): Promise<Response> {
  try {
    const result = await healthCheck();
    if (result.status !== 'ok') logger.warn({ health: result.components }, 'health check failed');
    return Response.json(publicHealth(result), { status: result.status === 'ok' ? 200 : 503, headers });
  } catch (e) {
    logger.error({ err: (e as Error).stack }, 'health check crashed');
    return Response.json({ status: 'error', components: { web: { status: 'error' } } }, { status: 503, headers });
  }
}
