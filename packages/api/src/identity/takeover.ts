/**
 * Pre-hijack defence. Anyone can sign up with an address they do not own; until the address is
 * verified such an account may not create API keys, invite or manage members, rename its
 * organization or create another one (tenant.ts: `unverifiedBlocked`). When the address's real
 * owner proves it (SSO sign-in or a password reset on the unverified account), whatever that
 * account set up that could outlive the hand-over is removed, and the removal is audited.
 */
import { and, eq, inArray, isNull, ne } from 'drizzle-orm';
import type { RequestMeta } from '@edgetune/auth';
import { schema, type Db } from '@edgetune/db';
import { recordForUser } from './audit';

export interface TakeoverCleanup {
  apiKeysRevoked: number;
  invitationsRevoked: number;
  membersRemoved: number;
}

/**
 * In `tx`, for a user whose address was unverified until now: revokes the API keys they
 * created, their pending invitations, and every other membership of the organizations they own;
 * then records `auth.account_takeover` in each of their organizations.
 */
export async function voidUnverifiedSetup(tx: Db, userId: string, how: 'sso' | 'password_reset', meta: RequestMeta): Promise<TakeoverCleanup> {
  const now = new Date();
  const keys = await tx
    .update(schema.apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(schema.apiKeys.createdBy, userId), isNull(schema.apiKeys.revokedAt)))
    .returning({ id: schema.apiKeys.id });
  const invites = await tx
    .update(schema.invitations)
    .set({ revokedAt: now })
    .where(and(eq(schema.invitations.invitedBy, userId), isNull(schema.invitations.acceptedAt), isNull(schema.invitations.revokedAt)))
    .returning({ id: schema.invitations.id });
  const owned = (
    await tx
      .select({ orgId: schema.memberships.orgId })
      .from(schema.memberships)
      .where(and(eq(schema.memberships.userId, userId), eq(schema.memberships.role, 'owner')))
  ).map((r) => r.orgId);
  const removed = owned.length
    ? await tx
        .delete(schema.memberships)
        .where(and(inArray(schema.memberships.orgId, owned), ne(schema.memberships.userId, userId)))
        .returning({ userId: schema.memberships.userId })
    : [];
  const cleanup = { apiKeysRevoked: keys.length, invitationsRevoked: invites.length, membersRemoved: removed.length };
  await recordForUser(userId, meta, { action: 'auth.account_takeover', data: { via: how, ...cleanup } }, tx);
  return cleanup;
}
