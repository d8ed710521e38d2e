/**
 * Members of the caller's organization and their roles. Every change runs with the org row
 * locked, so two concurrent changes cannot both remove "the other" last owner.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { isRole, type Role } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { authorize, orgScope, type Caller } from '../tenant';
import { recordAudit } from './audit';
import { lockOrg } from './orgs';

export interface MemberView {
  userId: string;
  email: string;
  name: string | null;
  role: Role;
  joinedAt: Date;
}

export async function listMembers(caller: Caller): Promise<MemberView[]> {
  authorize(caller, 'read');
  return db()
    .select({ userId: schema.users.id, email: schema.users.email, name: schema.users.name, role: schema.memberships.role, joinedAt: schema.memberships.createdAt })
    .from(schema.memberships)
    .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId))
    .where(orgScope(caller, schema.memberships))
    .orderBy(asc(schema.memberships.createdAt), asc(schema.users.id));
}

async function memberOf(tx: Db, caller: Pick<Caller, 'orgId'>, userId: string): Promise<MemberView> {
  const [m] = await tx
    .select({ userId: schema.users.id, email: schema.users.email, name: schema.users.name, role: schema.memberships.role, joinedAt: schema.memberships.createdAt })
    .from(schema.memberships)
    .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId))
    .where(orgScope(caller, schema.memberships, eq(schema.memberships.userId, String(userId))))
    .limit(1);
  if (!m) throw new DomainError('not_found', `No member found with id '${userId}'.`, { param: 'userId' });
  return m;
}

async function ownerCount(tx: Db, caller: Pick<Caller, 'orgId'>): Promise<number> {
  const [r] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(schema.memberships)
    .where(orgScope(caller, schema.memberships, eq(schema.memberships.role, 'owner')));
  return r.n;
}

const lastOwner = (who: string) =>
  new DomainError('conflict', `${who} the last owner of this organization; make another member an owner (or transfer ownership) first.`, { param: 'userId' });

/** Owners are made and unmade by owners only. */
function checkOwnerChange(caller: Caller, target: MemberView, newRole: Role | null): void {
  if ((target.role === 'owner' || newRole === 'owner') && caller.role !== 'owner') {
    throw new DomainError('forbidden', `Your role '${caller.role}' cannot ${newRole === 'owner' ? 'make someone an owner' : 'change or remove an owner'}; only an owner can.`, {
      param: 'userId',
    });
  }
}

export async function changeRole(caller: Caller, userId: string, roleInput: unknown): Promise<MemberView> {
  authorize(caller, 'manage_members');
  if (!isRole(roleInput)) throw new DomainError('invalid_request', `role must be one of owner, admin, member, viewer.`, { param: 'role' });
  const role = roleInput;
  return db().transaction(async (tx) => {
    await lockOrg(tx, caller.orgId);
    const target = await memberOf(tx, caller, userId);
    if (target.role === role) return target;
    checkOwnerChange(caller, target, role);
    if (target.role === 'owner' && (await ownerCount(tx, caller)) <= 1) throw lastOwner(target.userId === caller.userId ? 'You are' : `${target.email} is`);
    await tx.update(schema.memberships).set({ role }).where(orgScope(caller, schema.memberships, eq(schema.memberships.userId, target.userId)));
    await recordAudit(caller, { action: 'member.role_changed', targetType: 'user', targetId: target.userId, data: { email: target.email, from: target.role, to: role } }, tx);
    return { ...target, role };
  });
}

async function removeMembership(caller: Caller, tx: Db, target: MemberView, left: boolean): Promise<void> {
  if (target.role === 'owner' && (await ownerCount(tx, caller)) <= 1) throw lastOwner(left ? 'You are' : `${target.email} is`);
  await tx.delete(schema.memberships).where(orgScope(caller, schema.memberships, eq(schema.memberships.userId, target.userId)));
  await recordAudit(caller, { action: 'member.removed', targetType: 'user', targetId: target.userId, data: { email: target.email, role: target.role, ...(left ? { left: true } : {}) } }, tx);
}

/** Removes a member; their next request no longer reaches this organization. */
export async function removeMember(caller: Caller, userId: string): Promise<{ ok: true }> {
  authorize(caller, 'manage_members');
  await db().transaction(async (tx) => {
    await lockOrg(tx, caller.orgId);
    const target = await memberOf(tx, caller, userId);
    checkOwnerChange(caller, target, null);
    await removeMembership(caller, tx, target, target.userId === caller.userId);
  });
  return { ok: true };
}

/** The signed-in user leaves the organization they act in. */
export async function leaveOrg(caller: Caller): Promise<{ ok: true; orgId: string }> {
  if (caller.via !== 'session' || !caller.userId) throw new DomainError('forbidden', 'An API key cannot leave an organization.');
  await db().transaction(async (tx) => {
    await lockOrg(tx, caller.orgId);
    await removeMembership(caller, tx, await memberOf(tx, caller, caller.userId!), true);
  });
  return { ok: true, orgId: caller.orgId };
}
