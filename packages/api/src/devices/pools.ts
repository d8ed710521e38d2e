import { sql } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import type { Fingerprint } from '@edgetune/temporal';

/** A hardware pool announced itself (the device agent does so at start and every minute). */
export async function upsertPool(fp: Fingerprint): Promise<void> {
  const now = new Date();
  await db()
    .insert(schema.pools)
    .values({ id: fp.pool, kind: 'device', profiles: fp.profiles, fingerprint: fp as unknown as Record<string, unknown>, registeredAt: now, lastSeenAt: now })
    .onConflictDoUpdate({
      target: schema.pools.id,
      set: { profiles: fp.profiles, fingerprint: fp as unknown as Record<string, unknown>, lastSeenAt: sql`now()` },
    });
}
