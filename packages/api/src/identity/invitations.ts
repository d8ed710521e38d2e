/**
 * Invitations by e-mail: a single-use link valid for 7 days. Accepting needs a signed-in user
 * with the invited address; it adds the membership in one transaction with marking the
 * invitation accepted, so a link can never add two members.
 */
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { isRole, type RequestMeta, type Role } from '@edgetune/auth';
import { DomainError, newId } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { authorize, findOwned, orgScope, type Caller } from '../tenant';
import { normalizeEmail } from './accounts';
import { recordAudit } from './audit';
import { portalUrl, sendEmail } from './email';
import { lockOrg } from './orgs';
import { hashToken, isTokenShape, newSecretToken } from './user-tokens';

export const INVITATION_LIFETIME_MS = 7 * 24 * 3600_000;

export type InvitationRow = typeof schema.invitations.$inferSelect;
export type InvitationStatus = 'pending' | 'expired' | 'accepted' | 'revoked';

export function invitationStatus(r: Pick<InvitationRow, 'acceptedAt' | 'revokedAt' | 'expiresAt'>, now = Date.now()): InvitationStatus {
  if (r.acceptedAt) return 'accepted';
  if (r.revokedAt) return 'revoked';
  return r.expiresAt.getTime() <= now ? 'expired' : 'pending';
}

function view(r: InvitationRow) {
  return { id: r.id, email: r.email, role: r.role, expiresAt: r.expiresAt, createdAt: r.createdAt, status: invitationStatus(r) };
}
export type InvitationView = ReturnType<typeof view>;

/** Invitations not yet accepted or revoked (expired ones included, marked so), newest first. */
export async function listInvitations(caller: Caller): Promise<InvitationView[]> {
  authorize(caller, 'manage_members');
  const rows = await db()
    .select()
    .from(schema.invitations)
    .where(orgScope(caller, schema.invitations, isNull(schema.invitations.acceptedAt), isNull(schema.invitations.revokedAt)))
    .orderBy(desc(schema.invitations.createdAt));
  return rows.map(view);
}

/**
 * Invites an address to the caller's org with a role and e-mails the link. An earlier pending
 * invitation of the same address is replaced. If the e-mail cannot be sent, nothing is created.
 */
export async function createInvitation(caller: Caller, input: { email: unknown; role: unknown }): Promise<Pick<InvitationView, 'id' | 'email' | 'role' | 'expiresAt'>> {
  authorize(caller, 'manage_members');
  const email = normalizeEmail(input.email);
  if (!isRole(input.role)) throw new DomainError('invalid_request', 'role must be one of owner, admin, member, viewer.', { param: 'role' });
  const role: Role = input.role;
  if (role === 'owner' && caller.role !== 'owner') throw new DomainError('forbidden', `Your role '${caller.role}' cannot invite an owner; only an owner can.`, { param: 'role' });
  return db().transaction(async (tx) => {
    const org = await lockOrg(tx, caller.orgId);
    const [member] = await tx
      .select({ userId: schema.memberships.userId })
      .from(schema.memberships)
      .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId))
      .where(and(eq(schema.memberships.orgId, org.id), sql`lower(${schema.users.email}) = ${email}`))
      .limit(1);
    if (member) throw new DomainError('conflict', `${email} is already a member of this organization.`, { param: 'email' });
    await tx
      .update(schema.invitations)
      .set({ revokedAt: new Date() })
      .where(orgScope(caller, schema.invitations, sql`lower(${schema.invitations.email}) = ${email}`, isNull(schema.invitations.acceptedAt), isNull(schema.invitations.revokedAt)));
    const { token, hash } = newSecretToken();
    const id = newId('invitation');
    const expiresAt = new Date(Date.now() + INVITATION_LIFETIME_MS);
    await tx.insert(schema.invitations).values({ id, orgId: org.id, email, role, tokenHash: hash, invitedBy: caller.userId, expiresAt });
    await recordAudit(caller, { action: 'member.invited', targetType: 'invitation', targetId: id, data: { email, role } }, tx);
    const [inviter] = caller.userId ? await tx.select({ email: schema.users.email, name: schema.users.name }).from(schema.users).where(eq(schema.users.id, caller.userId)).limit(1) : [];
    const by = inviter ? `${inviter.name ? `${inviter.name} (${inviter.email})` : inviter.email} invited you` : 'You have been invited';
    const link = portalUrl(`/invite/${token}`);
    await sendEmail(
      {
        to: email,
        kind: 'invitation',
        subject: `You are invited to join ${org.name} on edgetune`,
        text: `${by} to join the organization "${org.name}" on edgetune as ${role}.\n\nAccept the invitation here (the link works once, until ${expiresAt.toISOString()}):\n\n${link}\n\nSign in (or sign up) as ${email} to accept it.\n`,
      },
      tx,
    );
    return { id, email, role, expiresAt };
  });
}

export async function revokeInvitation(caller: Caller, id: string): Promise<InvitationView> {
  authorize(caller, 'manage_members');
  const inv = await findOwned(caller, schema.invitations, id, 'invitation');
  const status = invitationStatus(inv);
  if (status === 'accepted') throw new DomainError('conflict', `Invitation '${id}' was already accepted; remove the member instead.`, { param: 'id' });
  if (status === 'revoked') return view(inv);
  return db().transaction(async (tx) => {
    const [row] = await tx
      .update(schema.invitations)
      .set({ revokedAt: new Date() })
      .where(orgScope(caller, schema.invitations, eq(schema.invitations.id, id), isNull(schema.invitations.acceptedAt)))
      .returning();
    if (!row) throw new DomainError('conflict', `Invitation '${id}' was accepted meanwhile; remove the member instead.`, { param: 'id' });
    await recordAudit(caller, { action: 'member.invitation_revoked', targetType: 'invitation', targetId: id, data: { email: row.email, role: row.role } }, tx);
    return view(row);
  });
}

const invalidLink = () => new DomainError('not_found', 'This invitation link is not valid. Check that you copied all of it, or ask for a new invitation.', { param: 'token' });

async function byToken(database: Db, token: unknown, forUpdate = false): Promise<InvitationRow> {
  if (!isTokenShape(token)) throw invalidLink();
  const q = database.select().from(schema.invitations).where(eq(schema.invitations.tokenHash, hashToken(token))).limit(1);
  const [row] = forUpdate ? await q.for('update') : await q;
  if (!row) throw invalidLink();
  return row;
}

/** What the invitation page shows before accepting (anyone holding the link may see it). */
export async function getInvitation(
  token: unknown,
): Promise<{ orgName: string; email: string; role: Role; expiresAt: Date; status: InvitationStatus; inviter: string | null }> {
  const inv = await byToken(db(), token);
  const [org] = await db().select({ name: schema.orgs.name }).from(schema.orgs).where(eq(schema.orgs.id, inv.orgId)).limit(1);
  const [by] = inv.invitedBy
    ? await db().select({ email: schema.users.email, name: schema.users.name }).from(schema.users).where(eq(schema.users.id, inv.invitedBy)).limit(1)
    : [];
  const inviter = by ? (by.name ? `${by.name} (${by.email})` : by.email) : null;
  return { orgName: org?.name ?? '', email: inv.email, role: inv.role, expiresAt: inv.expiresAt, status: invitationStatus(inv), inviter };
}

/** "a***@example.com": enough for the right person to recognise, not a full address to a stranger. */
function maskEmail(email: string): string {
  const [local, domain] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

/** The signed-in user joins the invitation's organization with its role. */
export async function acceptInvitation(userId: string, token: unknown, meta: RequestMeta): Promise<{ org: { id: string; name: string; slug: string }; role: Role }> {
  return db().transaction(async (tx) => {
    const inv = await byToken(tx, token, true);
    const [org] = await tx.select().from(schema.orgs).where(eq(schema.orgs.id, inv.orgId)).limit(1);
    const status = invitationStatus(inv);
    if (status === 'accepted') throw new DomainError('conflict', 'This invitation has already been accepted; an invitation link works only once.', { param: 'token' });
    if (status === 'revoked') throw new DomainError('conflict', `This invitation was revoked; ask an admin of ${org.name} for a new one.`, { param: 'token' });
    if (status === 'expired') throw new DomainError('conflict', `This invitation expired on ${inv.expiresAt.toISOString()}; ask an admin of ${org.name} for a new one.`, { param: 'token' });
    const [user] = await tx.select().from(schema.users).where(eq(schema.users.id, userId)).limit(1);
    if (!user) throw new DomainError('unauthenticated', 'You must be signed in.');
    if (user.email.toLowerCase() !== inv.email.toLowerCase()) {
      throw new DomainError('forbidden', `This invitation was sent to a different e-mail address (${maskEmail(inv.email)}); you are signed in as ${user.email}. Sign in with the invited address to accept it.`, {
        param: 'token',
      });
    }
    const [already] = await tx
      .select({ role: schema.memberships.role })
      .from(schema.memberships)
      .where(and(eq(schema.memberships.orgId, inv.orgId), eq(schema.memberships.userId, userId)))
      .limit(1);
    if (already) throw new DomainError('conflict', `You are already a member of ${org.name} (as ${already.role}).`, { param: 'token' });
    await tx.update(schema.invitations).set({ acceptedAt: new Date(), acceptedBy: userId }).where(eq(schema.invitations.id, inv.id));
    await tx.insert(schema.memberships).values({ orgId: inv.orgId, userId, role: inv.role });
    // The link reached this address, which proves it.
    await tx.update(schema.users).set({ emailVerifiedAt: sql`coalesce(${schema.users.emailVerifiedAt}, now())` }).where(eq(schema.users.id, userId));
    await recordAudit({ orgId: inv.orgId, userId, ...meta }, { action: 'member.joined', targetType: 'invitation', targetId: inv.id, data: { email: user.email, role: inv.role } }, tx);
    return { org: { id: org.id, name: org.name, slug: org.slug }, role: inv.role };
  });
}
