import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import type { JobRef } from './records';

/** Records metered usage of a finished job, once per (job, kind). */
export async function meterJob(ref: JobRef & { usage: Record<string, number> }): Promise<void> {
  const rows = Object.entries(ref.usage)
    .filter(([, q]) => Number.isFinite(q) && q >= 0)
    .map(([kind, quantity]) => ({ id: newId('usage'), orgId: ref.orgId, jobId: ref.jobId, kind, quantity: Math.round(quantity) }));
  if (rows.length) await db().insert(schema.usageRecords).values(rows).onConflictDoNothing({ target: [schema.usageRecords.jobId, schema.usageRecords.kind] });
}
