import { and, eq, sum } from 'drizzle-orm';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import type { JobRef } from './records';

/**
 * Records metered usage of a finished job, once per (job, kind): what the workflow reports
 * (training tokens and seconds) and the device time its benchmarks took, from its stages.
 */
export async function meterJob(ref: JobRef & { usage: Record<string, number> }): Promise<void> {
  const [bench] = await db()
    .select({ ms: sum(schema.jobStages.durationMs) })
    .from(schema.jobStages)
    .where(and(eq(schema.jobStages.jobId, ref.jobId), eq(schema.jobStages.orgId, ref.orgId), eq(schema.jobStages.stage, 'benchmark')));
  const usage = { ...ref.usage, benchmark_device_seconds: Number(bench?.ms ?? 0) / 1000 };
  const rows = Object.entries(usage)
    .filter(([, q]) => Number.isFinite(q) && q >= 0)
    .map(([kind, quantity]) => ({ id: newId('usage'), orgId: ref.orgId, jobId: ref.jobId, kind, quantity: Math.round(quantity) }));
  if (rows.length) await db().insert(schema.usageRecords).values(rows).onConflictDoNothing({ target: [schema.usageRecords.jobId, schema.usageRecords.kind] });
}
