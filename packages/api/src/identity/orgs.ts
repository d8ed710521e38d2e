/**
 * Organizations a user belongs to: list, create, switch (the portal keeps the choice in the
 * `et_org` cookie; see context.ts), rename, transfer ownership and delete with everything it owns.
 */
import { and, asc, eq, notInArray, sql } from 'drizzle-orm';
import { type RequestMeta } from '@edgetune/auth';
import { DomainError, terminalStatuses } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { logger } from '../logger';
import { authorize, orgScope, verifyFirstReason, type Caller } from '../tenant';
import { createOwnOrganization } from './accounts';
import { recordAudit } from './audit';

export interface OrgSummary {
  id: string;
  name: string;
  slug: string;
  role: (typeof schema.memberships.$inferSelect)['role'];
  current: boolean;
}

/** Locks the org row for the rest of the transaction: membership changes of one org run one at a time. */
export async function lockOrg(tx: Db, orgId: string): Promise<typeof schema.orgs.$inferSelect> {
  const [org] = await tx.select().from(schema.orgs).where(eq(schema.orgs.id, orgId)).for('update').limit(1);
  if (!org) throw new DomainError('not_found', `No organization found with id '${orgId}'.`, { param: 'orgId' });
  return org;
}

export function orgName(name: unknown, param = 'name'): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (!n || n.length > 100) throw new DomainError('invalid_request', 'Organization name must be 1–100 characters.', { param });
  return n;
}

/** The user's organizations, oldest membership first; `current` marks the one they act in. */
export async function listOrgs(userId: string, currentOrgId: string | null): Promise<OrgSummary[]> {
  const rows = await db()
    .select({ id: schema.orgs.id, name: schema.orgs.name, slug: schema.orgs.slug, role: schema.memberships.role })
    .from(schema.memberships)
    .innerJoin(schema.orgs, eq(schema.orgs.id, schema.memberships.orgId))
    .where(eq(schema.memberships.userId, userId))
    .orderBy(asc(schema.memberships.createdAt), asc(schema.orgs.id));
  return rows.map((r) => ({ ...r, current: r.id === currentOrgId }));
}

/** The membership of `userId` in `orgId`, or not_found (the same answer as for an org that does not exist). */
export async function switchOrg(userId: string, orgId: string): Promise<OrgSummary> {
  const [r] = await db()
    .select({ id: schema.orgs.id, name: schema.orgs.name, slug: schema.orgs.slug, role: schema.memberships.role })
    .from(schema.memberships)
    .innerJoin(schema.orgs, eq(schema.orgs.id, schema.memberships.orgId))
    .where(and(eq(schema.memberships.userId, userId), eq(schema.memberships.orgId, String(orgId))))
    .limit(1);
  if (!r) throw new DomainError('not_found', `No organization found with id '${orgId}'.`, { param: 'orgId' });
  return { ...r, current: true };
}

/** A new organization owned by the user. */
export async function createOrg(userId: string, nameInput: unknown, meta: RequestMeta): Promise<OrgSummary> {
  const name = orgName(nameInput);
  const [user] = await db().select({ verifiedAt: schema.users.emailVerifiedAt }).from(schema.users).where(eq(schema.users.id, userId)).limit(1);
  if (user && !user.verifiedAt) throw new DomainError('forbidden', verifyFirstReason);
  return db().transaction(async (tx) => {
    const { org, role } = await createOwnOrganization(tx, userId, name);
    await recordAudit({ orgId: org.id, userId, ...meta }, { action: 'org.created', targetType: 'org', targetId: org.id, data: { name } }, tx);
    return { ...org, role, current: true };
  });
}

export async function renameOrg(caller: Caller, nameInput: unknown): Promise<{ id: string; name: string; slug: string }> {
  authorize(caller, 'manage_org');
  const name = orgName(nameInput);
  return db().transaction(async (tx) => {
    const org = await lockOrg(tx, caller.orgId);
    if (org.name === name) return { id: org.id, name: org.name, slug: org.slug };
    await tx.update(schema.orgs).set({ name }).where(eq(schema.orgs.id, org.id));
    await recordAudit(caller, { action: 'org.renamed', targetType: 'org', targetId: org.id, data: { from: org.name, to: name } }, tx);
    return { id: org.id, name, slug: org.slug };
  });
}

/** Ownership decisions belong to a person who owns the org, never to an API key. */
function requireOwner(caller: Caller, what: string): void {
  if (caller.via !== 'session' || caller.role !== 'owner' || !caller.userId) {
    throw new DomainError('forbidden', caller.via === 'api_key' ? `An API key cannot ${what}; an owner must do it in the portal.` : `Your role '${caller.role}' cannot ${what}; only an owner can.`);
  }
}

/** Makes `userId` (a member) an owner; the caller, an owner, becomes an admin. */
export async function transferOwnership(caller: Caller, userId: string): Promise<{ ok: true }> {
  requireOwner(caller, 'transfer ownership of the organization');
  if (userId === caller.userId) throw new DomainError('invalid_request', 'You already own this organization; choose another member.', { param: 'userId' });
  await db().transaction(async (tx) => {
    await lockOrg(tx, caller.orgId);
    const [target] = await tx
      .select({ role: schema.memberships.role, email: schema.users.email })
      .from(schema.memberships)
      .innerJoin(schema.users, eq(schema.users.id, schema.memberships.userId))
      .where(orgScope(caller, schema.memberships, eq(schema.memberships.userId, String(userId))))
      .limit(1);
    if (!target) throw new DomainError('not_found', `No member found with id '${userId}'.`, { param: 'userId' });
    await tx.update(schema.memberships).set({ role: 'owner' }).where(orgScope(caller, schema.memberships, eq(schema.memberships.userId, userId)));
    await tx.update(schema.memberships).set({ role: 'admin' }).where(orgScope(caller, schema.memberships, eq(schema.memberships.userId, caller.userId!)));
    await recordAudit(caller, { action: 'org.ownership_transferred', targetType: 'user', targetId: userId, data: { to: target.email, previousRole: target.role } }, tx);
  });
  return { ok: true };
}

async function activeJob(database: Db, orgId: string) {
  const [job] = await database
    .select({ id: schema.jobs.id, status: schema.jobs.status })
    .from(schema.jobs)
    .where(orgScope({ orgId }, schema.jobs, notInArray(schema.jobs.status, [...terminalStatuses])))
    .limit(1);
  return job ?? null;
}

/**
 * Deletes the organization and everything it owns: its rows (by cascade) in one transaction, then
 * its stored objects under `orgs/<orgId>`. Refused while one of its jobs still runs, because the
 * job's workers would write into what is being deleted.
 */
export async function deleteOrg(caller: Caller, confirmName: unknown): Promise<{ id: string; deleted: true }> {
  requireOwner(caller, 'delete the organization');
  const orgId = caller.orgId;
  await db().transaction(async (tx) => {
    const org = await lockOrg(tx, orgId);
    if (typeof confirmName !== 'string' || confirmName.trim() !== org.name) {
      throw new DomainError('invalid_request', `To confirm, type the organization's name exactly: '${org.name}'.`, { param: 'confirmName' });
    }
    const job = await activeJob(tx, orgId);
    if (job) {
      throw new DomainError('conflict', `Job '${job.id}' of this organization is still ${job.status.replace(/_/g, ' ')}; cancel it and wait until it has stopped, then delete the organization.`, {
        param: 'confirmName',
      });
    }
    await tx.delete(schema.orgs).where(eq(schema.orgs.id, orgId));
    // The org's own log goes with it (cascade); this entry stays for the operator.
    await recordAudit({ orgId: null, userId: caller.userId, ip: caller.ip, userAgent: caller.userAgent }, { action: 'org.deleted', targetType: 'org', targetId: orgId, data: { name: org.name, slug: org.slug } }, tx);
  });
  try {
    await storage().deletePrefix(`orgs/${orgId}`);
  } catch (e) {
    logger.error({ orgId, err: (e as Error).message }, 'objects of a deleted organization could not be removed');
    throw new DomainError('unavailable', `The organization was deleted, but removing its stored files failed (${(e as Error).message}); an operator must remove 'orgs/${orgId}'.`);
  }
  return { id: orgId, deleted: true };
}

/** How many organizations the user belongs to. */
export async function orgCount(userId: string): Promise<number> {
  const [r] = await db().select({ n: sql<number>`count(*)::int` }).from(schema.memberships).where(eq(schema.memberships.userId, userId));
  return r?.n ?? 0;
}
