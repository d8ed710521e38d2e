/**
 * THE one place that scopes tenant data by organization. Every domain function reads and writes
 * tenant tables through these helpers; a row of another org is indistinguishable from a missing
 * one (DomainError not_found → 404).
 */
import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { denyReason, scopeDenyReason, type Action, type Role } from '@edgetune/auth';
import { DomainError } from '@edgetune/contracts';
import { db } from '@edgetune/db';

export interface Caller {
  orgId: string;
  userId: string | null;
  role: Role;
  via: 'session' | 'api_key';
  scopes: string[];
  keyId?: string | null;
  /**
   * False for a session user whose e-mail address is not verified yet (see `unverifiedBlocked`);
   * absent for API keys and server-side callers.
   */
  emailVerified?: boolean;
  /** Where the request came from (audit log, per-address limits); absent for server-side callers. */
  ip?: string | null;
  userAgent?: string | null;
}

/** A tenant table: has `id` and `orgId` columns. */
export type TenantTable = PgTable & { id: PgColumn; orgId: PgColumn };

/** `org_id = caller.orgId AND …conditions` — every tenant query's WHERE clause starts here. */
export function orgScope(caller: Pick<Caller, 'orgId'>, table: { orgId: PgColumn }, ...conditions: (SQL | undefined)[]): SQL {
  return and(eq(table.orgId, caller.orgId), ...conditions) as SQL;
}

/**
 * What an account may not do before its address is verified: whoever signed up with someone
 * else's address must not plant keys, members or a look-alike organization name that would
 * outlive the real owner taking the address over (identity/takeover.ts).
 */
export const unverifiedBlocked: readonly Action[] = ['manage_keys', 'manage_members', 'manage_org', 'manage_pools'];

export const verifyFirstReason = 'Verify your e-mail address first: open the link we sent you (or send a new one from the banner at the top of the portal).';

/** Why the caller may not do the action (role, and for API keys also scopes, unverified address), or null. */
export function callerDenyReason(caller: Pick<Caller, 'role' | 'via' | 'scopes' | 'emailVerified'>, action: Action): string | null {
  return (
    (caller.via === 'api_key' ? scopeDenyReason(caller.scopes, action) : null) ??
    denyReason(caller.role, action) ??
    (caller.via === 'session' && caller.emailVerified === false && unverifiedBlocked.includes(action) ? verifyFirstReason : null)
  );
}

/** Throws forbidden (with the reason the portal also shows) unless the caller may do the action. */
export function authorize(caller: Caller, action: Action): void {
  const reason = callerDenyReason(caller, action);
  if (reason) throw new DomainError('forbidden', reason);
}

/**
 * Reads one row of a tenant table by id within the caller's org, or throws not_found naming
 * `param` (the request parameter that carried the id).
 */
export async function findOwned<T extends TenantTable>(
  caller: Pick<Caller, 'orgId'>,
  table: T,
  id: string,
  what: string,
  param = 'id',
): Promise<T['$inferSelect']> {
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) throw notFoundError(what, String(id), param);
  const rows = await db()
    .select()
    .from(table as PgTable)
    .where(orgScope(caller, table, eq(table.id, id)))
    .limit(1);
  if (!rows[0]) throw notFoundError(what, id, param);
  return rows[0] as T['$inferSelect'];
}

export function notFoundError(what: string, id: string, param = 'id'): DomainError {
  return new DomainError('not_found', `No ${what} found with id '${id}'.`, { param });
}

/** Pagination parameters shared by every list function. */
export function pageLimit(limit: number | undefined, def = 20, max = 100): number {
  if (limit === undefined || limit === null || Number.isNaN(limit)) return def;
  if (!Number.isInteger(limit) || limit < 1) throw new DomainError('invalid_request', `limit must be an integer between 1 and ${max}.`, { param: 'limit' });
  return Math.min(limit, max);
}

/**
 * Keyset cursor of a list ordered newest first (`created_at desc, id desc`): the rows after the
 * row `after` of the caller's org (not_found on `after` when there is no such row).
 */
export async function newestFirstAfter(
  caller: Pick<Caller, 'orgId'>,
  table: TenantTable & { createdAt: PgColumn },
  after: string | null | undefined,
  what: string,
): Promise<SQL | undefined> {
  if (!after) return undefined;
  const a = (await findOwned(caller, table, after, what, 'after')) as { id: string; createdAt: Date };
  return or(lt(table.createdAt, a.createdAt), and(eq(table.createdAt, a.createdAt), lt(table.id, a.id)));
}

/** A page from rows fetched with `limit + 1`: the first `limit` rows, and whether there were more. */
export function toPage<T>(rows: T[], limit: number): { data: T[]; hasMore: boolean } {
  return { data: rows.slice(0, limit), hasMore: rows.length > limit };
}
