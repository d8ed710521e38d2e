import { sql } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';

export type UserRow = typeof schema.users.$inferSelect;

/** A user by e-mail, compared case-insensitively (as the `users_email_lower` unique index does). */
export async function findUserByEmail(email: string): Promise<UserRow | null> {
  const [user] = await db()
    .select()
    .from(schema.users)
    .where(sql`lower(${schema.users.email}) = ${email.trim().toLowerCase()}`)
    .limit(1);
  return user ?? null;
}
