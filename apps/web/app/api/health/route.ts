import { healthCheck } from '@edgetune/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(): Promise<Response> {
  try {
    const result = await healthCheck();
    return Response.json(result, { status: result.status === 'ok' ? 200 : 503, headers: { 'cache-control': 'no-store' } });
  } catch (e) {
    return Response.json(
      { status: 'error', components: { web: { status: 'error', message: (e as Error).message } } },
      { status: 503, headers: { 'cache-control': 'no-store' } },
    );
  }
}
