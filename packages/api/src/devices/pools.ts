import { sql } from 'drizzle-orm';
import { fingerprintSchema, type Fingerprint } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';

/** A hardware pool announced itself (the device agent does so at start and every minute). */
export async function upsertPool(reported: Fingerprint): Promise<void> {
  // Checked here, where it arrives from the agent, so the stored row holds the shape its type says.
  const fp = fingerprintSchema.parse(reported);
  const now = new Date();
  await db()
    .insert(schema.pools)
    .values({ id: fp.pool, kind: 'device', profiles: fp.profiles, fingerprint: fp, registeredAt: now, lastSeenAt: now })
    .onConflictDoUpdate({
      target: schema.pools.id,
      set: { profiles: fp.profiles, fingerprint: fp, lastSeenAt: sql`now()` },
    });
}
