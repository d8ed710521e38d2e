import { and, asc, eq, sql } from 'drizzle-orm';
import { actions, checkPasswordPolicy, findUserByEmail, hashPassword, type Action, type Role } from '@edgetune/auth';
import { DomainError, newId } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { callerDenyReason, type Caller } from '../tenant';

/** RFC 5321's limit on a forward path; checked before anything looks at the characters. */
export const MAX_EMAIL_LENGTH = 320;

/**
 * `local@domain.tld`: one '@', no whitespace, a dot inside the domain. A few linear scans over at
 * most MAX_EMAIL_LENGTH characters; no pattern that can backtrack (one here let a single request
 * hold the server for seconds).
 */
export function isEmailAddress(s: string): boolean {
  if (s.length > MAX_EMAIL_LENGTH || /\s/.test(s)) return false;
  const at = s.indexOf('@');
  if (at <= 0 || s.indexOf('@', at + 1) !== -1) return false;
  // A dot with something on both sides inside the domain.
  const dot = s.indexOf('.', at + 2);
  return dot !== -1 && dot < s.length - 1;
}

export function normalizeEmail(email: unknown): string {
  const trimmed = typeof email === 'string' && email.length <= MAX_EMAIL_LENGTH + 64 ? email.trim() : null;
  if (trimmed === null || !isEmailAddress(trimmed)) {
    throw new DomainError('invalid_request', 'Enter a valid e-mail address.', { param: 'email' });
  }
  return trimmed.toLowerCase();
}

export function slugify(name: string): string {
  const s = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return s || 'org';
}

export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string; cause?: { code?: string; constraint?: string } };
  const c = err?.code === '23505' ? err : err?.cause?.code === '23505' ? err.cause : null;
  return !!c && (!constraint || c.constraint === constraint);
}

async function uniqueSlug(tx: Db, name: string): Promise<string> {
  const base = slugify(name);
  for (let i = 0; i < 20; i++) {
    const slug = i === 0 ? base : `${base}-${Math.random().toString(36).slice(2, 7)}`;
    const [hit] = await tx.select({ id: schema.orgs.id }).from(schema.orgs).where(eq(schema.orgs.slug, slug)).limit(1);
    if (!hit) return slug;
  }
  throw new DomainError('conflict', 'Could not allocate an organization slug; try another name.', { param: 'orgName' });
}

export interface SignUpInput {
  email: string;
  password: string;
  name?: string | null;
  orgName?: string | null;
}

export interface SignUpResult {
  user: { id: string; email: string; name: string | null };
  org: { id: string; name: string; slug: string };
  role: Role;
}

const duplicateEmail = () => new DomainError('conflict', 'An account with this e-mail address already exists.', { param: 'email' });

/**
 * Inserts a user and, in the same transaction, what `join` adds (their organization and role);
 * a duplicate e-mail (any case) is a conflict and leaves nothing behind.
 */
async function insertUser(
  input: { email: string; password: string; name: string | null; verified?: boolean },
  join: (tx: Db, userId: string) => Promise<Pick<SignUpResult, 'org' | 'role'>>,
): Promise<SignUpResult> {
  const { email, name } = input;
  // Checked first so a duplicate does not pay for hashing; the unique index settles races.
  if (await findUserByEmail(email)) throw duplicateEmail();
  const passwordHash = await hashPassword(input.password);
  try {
    return await db().transaction(async (tx) => {
      const userId = newId('user');
      await tx.insert(schema.users).values({ id: userId, email, name, passwordHash, emailVerifiedAt: input.verified ? new Date() : null });
      const { org, role } = await join(tx, userId);
      return { user: { id: userId, email, name }, org, role };
    });
  } catch (e) {
    if (isUniqueViolation(e, 'users_email_lower')) throw duplicateEmail();
    throw e;
  }
}

/** Creates a user and their organization (owner membership) in one transaction. */
export async function signUp(input: SignUpInput, opts: { verified?: boolean } = {}): Promise<SignUpResult> {
  const email = normalizeEmail(input.email);
  checkPasswordPolicy(input.password);
  const name = input.name?.trim() || null;
  const orgName = input.orgName?.trim() || defaultOrgName(email, name);
  if (orgName.length > 100) throw new DomainError('invalid_request', 'Organization name must be at most 100 characters.', { param: 'orgName' });
  return insertUser({ email, password: input.password, name, verified: opts.verified }, (tx, userId) => createOwnOrganization(tx, userId, orgName));
}

/** The default name of the organization a new account gets. */
export function defaultOrgName(email: string, name: string | null): string {
  return `${name ?? email.split('@')[0]}'s organization`;
}

/** A new organization owned by `userId` (sign-up and first SSO sign-in), inside the caller's transaction. */
export async function createOwnOrganization(tx: Db, userId: string, orgName: string): Promise<Pick<SignUpResult, 'org' | 'role'>> {
  const orgId = newId('org');
  const slug = await uniqueSlug(tx, orgName);
  await tx.insert(schema.orgs).values({ id: orgId, name: orgName, slug });
  await tx.insert(schema.memberships).values({ orgId, userId, role: 'owner' });
  return { org: { id: orgId, name: orgName, slug }, role: 'owner' };
}

/**
 * Operator path (admin CLI): creates a user; with `orgName`, makes them owner of a new org of
 * that name, or a member of the existing org with that name / slug. The operator vouches for the
 * address, so it counts as verified.
 */
export async function createUser(input: SignUpInput & { role?: Role }): Promise<SignUpResult> {
  const email = normalizeEmail(input.email);
  checkPasswordPolicy(input.password);
  const orgName = input.orgName?.trim();
  if (!orgName) return signUp({ ...input, email }, { verified: true });
  const existing = await findOrgByName(orgName);
  if (!existing) return signUp({ ...input, email, orgName }, { verified: true });
  const role: Role = input.role ?? 'member';
  return insertUser({ email, password: input.password, name: input.name?.trim() || null, verified: true }, async (tx, userId) => {
    await tx.insert(schema.memberships).values({ orgId: existing.id, userId, role });
    return { org: { id: existing.id, name: existing.name, slug: existing.slug }, role };
  });
}

export async function findOrgByName(nameOrSlug: string): Promise<typeof schema.orgs.$inferSelect | null> {
  const [byName] = await db().select().from(schema.orgs).where(eq(schema.orgs.name, nameOrSlug)).orderBy(asc(schema.orgs.createdAt)).limit(1);
  if (byName) return byName;
  const [bySlug] = await db().select().from(schema.orgs).where(eq(schema.orgs.slug, nameOrSlug)).limit(1);
  return bySlug ?? null;
}

export async function membershipOf(userId: string, orgId: string): Promise<Role | null> {
  const [m] = await db()
    .select()
    .from(schema.memberships)
    .where(and(eq(schema.memberships.userId, userId), eq(schema.memberships.orgId, orgId)))
    .limit(1);
  return (m?.role as Role) ?? null;
}

/** The caller's user (if a session), organization, role, and what the caller may do and why not. */
export async function me(caller: Caller): Promise<{
  user: { id: string; email: string; name: string | null } | null;
  org: { id: string; name: string; slug: string };
  role: Role;
  via: Caller['via'];
  scopes: string[];
  emailVerified: boolean;
  permissions: Record<Action, { allowed: boolean; reason: string | null }>;
  orgs: number;
}> {
  const [org] = await db().select().from(schema.orgs).where(eq(schema.orgs.id, caller.orgId)).limit(1);
  if (!org) throw new DomainError('not_found', 'Organization not found.');
  let user = null;
  let emailVerified = false;
  let orgs = 1;
  if (caller.userId) {
    const [u] = await db().select().from(schema.users).where(eq(schema.users.id, caller.userId)).limit(1);
    if (u) {
      user = { id: u.id, email: u.email, name: u.name };
      emailVerified = !!u.emailVerifiedAt;
    }
    if (caller.via === 'session') {
      const [n] = await db().select({ n: sql<number>`count(*)::int` }).from(schema.memberships).where(eq(schema.memberships.userId, caller.userId));
      orgs = n?.n ?? 1;
    }
  }
  const permissions = Object.fromEntries(
    actions.map((a) => {
      const reason = callerDenyReason(caller, a);
      return [a, { allowed: reason === null, reason }];
    }),
  ) as Record<Action, { allowed: boolean; reason: string | null }>;
  return { user, org: { id: org.id, name: org.name, slug: org.slug }, role: caller.role, via: caller.via, scopes: caller.scopes, emailVerified, permissions, orgs };
}
