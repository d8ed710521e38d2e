import { and, eq, sql } from 'drizzle-orm';
import type { SsoIdentity, SsoUser } from '@edgetune/auth';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { createOwnOrganization, defaultOrgName, isUniqueViolation, normalizeEmail } from './accounts';
import { voidUnverifiedSetup } from './takeover';

/**
 * The user a verified external identity signs in as (the e-mail was checked by
 * packages/auth's `verifiedSsoIdentity`):
 *   1. an identity linked before → its user;
 *   2. a user with that e-mail → the identity is linked to them;
 *   3. otherwise a new user without password (e-mail verified) who owns a new organization.
 * When (2) finds an account whose e-mail was never verified, whoever created it may not own the
 * address (someone can sign up with another person's e-mail first); the provider has now proven
 * ownership, so that account's password and sessions are voided before it is handed over, and
 * the keys, invitations and co-members it set up are removed (takeover.ts).
 */
export async function signInWithSso(identity: SsoIdentity): Promise<SsoUser> {
  const email = normalizeEmail(identity.email);
  try {
    return await link({ ...identity, email });
  } catch (e) {
    // Two first sign-ins of the same person raced; the loser now finds what the winner wrote.
    if (isUniqueViolation(e)) return link({ ...identity, email });
    throw e;
  }
}

function link(identity: SsoIdentity): Promise<SsoUser> {
  const { provider, providerAccountId, email } = identity;
  return db().transaction(async (tx) => {
    const [known] = await tx
      .select({ id: schema.users.id, email: schema.users.email, name: schema.users.name })
      .from(schema.identities)
      .innerJoin(schema.users, eq(schema.users.id, schema.identities.userId))
      .where(and(eq(schema.identities.provider, provider), eq(schema.identities.providerAccountId, providerAccountId)))
      .limit(1);
    if (known) {
      await tx
        .update(schema.identities)
        .set({ email })
        .where(and(eq(schema.identities.provider, provider), eq(schema.identities.providerAccountId, providerAccountId)));
      return known;
    }

    const [existing] = await tx.select().from(schema.users).where(sql`lower(${schema.users.email}) = ${email}`).for('update').limit(1);
    if (existing) {
      await tx.insert(schema.identities).values({ provider, providerAccountId, userId: existing.id, email });
      if (!existing.emailVerifiedAt) {
        await tx
          .update(schema.users)
          .set({ emailVerifiedAt: new Date(), passwordHash: null, sessionVersion: sql`${schema.users.sessionVersion} + 1` })
          .where(eq(schema.users.id, existing.id));
        await voidUnverifiedSetup(tx, existing.id, 'sso', { ip: null, userAgent: null });
      }
      return { id: existing.id, email: existing.email, name: existing.name };
    }

    const userId = newId('user');
    const name = identity.name?.trim().slice(0, 200) || null;
    await tx.insert(schema.users).values({ id: userId, email, name, passwordHash: null, emailVerifiedAt: new Date() });
    await createOwnOrganization(tx, userId, defaultOrgName(email, name).slice(0, 100));
    await tx.insert(schema.identities).values({ provider, providerAccountId, userId, email });
    return { id: userId, email, name };
  });
}
