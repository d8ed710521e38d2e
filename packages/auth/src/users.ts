import { sql } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { verifyPassword } from './password';

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

/** Looks a user up by e-mail (case-insensitive) and checks the password; null when either fails. */
export async function authenticateUser(email: string, password: string): Promise<{ id: string; email: string; name: string | null } | null> {
  if (!email || !password) return null;
  const user = await findUserByEmail(email);
  if (!user || !user.passwordHash) {
    // Spend comparable time so the response does not reveal whether the e-mail exists.
    await verifyPassword('$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000', password);
    return null;
  }
  if (!(await verifyPassword(user.passwordHash, password))) return null;
  return { id: user.id, email: user.email, name: user.name };
}
