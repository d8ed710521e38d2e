import { and, desc, eq, type SQL } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';

/**
 * Training throughput measured on this platform for a base model: the median tokens/s of the
 * latest (at most 20) finished jobs on it, within `scope` (a tenant condition from tenant.ts) or,
 * without one, over every organization — an aggregate that reveals no tenant's data.
 */
export async function medianTrainingThroughput(
  baseModel: string,
  scope?: SQL,
  scopeName = 'this platform',
): Promise<{ tokensPerSecond: number; basis: string } | null> {
  const rows = await db()
    .select({ result: schema.jobs.result })
    .from(schema.jobs)
    .where(and(scope ?? eq(schema.jobs.baseModel, baseModel), eq(schema.jobs.baseModel, baseModel), eq(schema.jobs.status, 'succeeded')))
    .orderBy(desc(schema.jobs.finishedAt))
    .limit(20);
  const tps = rows
    .map((r) => Number(r.result?.training?.tokens_per_second))
    .filter((v) => Number.isFinite(v) && v > 0)
    .sort((a, b) => a - b);
  if (!tps.length) return null;
  return { tokensPerSecond: tps[Math.floor((tps.length - 1) / 2)], basis: `the median of ${tps.length} finished job${tps.length === 1 ? '' : 's'} of ${scopeName}` };
}
