/**
 * Pools as an organization sees them: the platform's own (operator-run Temporal workers, shared by
 * every tenant) and its organization pools (its own machines, whose agents speak HTTPS with the
 * pool's enrollment token). Another organization's pool does not exist for a caller (404).
 */
import { and, asc, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { newSecretToken } from '@edgetune/auth';
import { createPoolSchema, DomainError, newId, type Fingerprint } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { listPools as listPlatformPools, type PoolView as PlatformPoolView } from '../devices/devices';
import { isUniqueViolation } from '../identity/accounts';
import { assertQuota, lockOrgBilling } from '../billing/account';
import { recordAudit } from '../identity/audit';
import { parseInput } from '../errors';
import { authorize, notFoundError, orgScope, type Caller } from '../tenant';

/** An agent that long-polled within this window counts as online (it polls every ≤ 25 s). */
export const AGENT_FRESH_MS = 60_000;
/** How many finished benchmarks a pool view shows, with their spread. */
const RECENT_RESULTS = 20;

export const POOL_TOKEN_PREFIX = 'etp_';

const newPoolToken = () => {
  const t = newSecretToken(POOL_TOKEN_PREFIX);
  return { token: t.token, hash: t.hash, prefix: t.shown };
};

export interface AgentView {
  id: string;
  name: string;
  profiles: string[];
  fingerprint: Fingerprint;
  online: boolean;
  lastSeenAt: Date;
}

export interface TaskView {
  id: string;
  kind: 'quantize' | 'benchmark';
  jobId: string;
  device: string;
  state: string;
  agentId: string | null;
  createdAt: Date;
}

export interface ResultView {
  taskId: string;
  jobId: string;
  device: string;
  finishedAt: Date;
  decodeTokensPerSecond: number;
  prefillTokensPerSecond: number;
  peakRssBytes: number;
}

export interface Spread {
  n: number;
  mean: number;
  stdev: number;
  min: number;
  max: number;
}

export interface PoolView {
  id: string;
  name: string;
  owner: 'platform' | 'organization';
  kind: 'device' | 'train';
  profiles: string[];
  online: boolean;
  fingerprint: Fingerprint | null;
  registeredAt: Date;
  lastSeenAt: Date;
  /** Platform pools: Temporal's fresh pollers on the pool's queue. */
  pollers: number;
  lastPollAt: Date | null;
  /** Organization pools only. */
  tokenPrefix: string | null;
  agents: AgentView[];
  queueDepth: number;
  currentTasks: TaskView[];
  recentResults: ResultView[];
  decodeSpread: Spread | null;
}

type PoolRow = typeof schema.pools.$inferSelect;

function fromPlatform(p: PlatformPoolView): PoolView {
  return {
    id: p.id,
    name: p.id,
    owner: 'platform',
    kind: p.kind,
    profiles: p.profiles,
    online: p.online,
    fingerprint: p.fingerprint,
    registeredAt: p.registeredAt,
    lastSeenAt: p.lastSeenAt,
    pollers: p.pollers,
    lastPollAt: p.lastPollAt,
    tokenPrefix: null,
    agents: [],
    queueDepth: 0,
    currentTasks: [],
    recentResults: [],
    decodeSpread: null,
  };
}

export function spread(values: number[]): Spread | null {
  if (!values.length) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { n: values.length, mean, stdev: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) };
}

/** The views of organization pool rows (agents, queue and recent results read in three queries). */
async function orgPoolViews(rows: PoolRow[], now = Date.now()): Promise<PoolView[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const agents = await db().select().from(schema.poolAgents).where(inArray(schema.poolAgents.poolId, ids)).orderBy(asc(schema.poolAgents.name));
  const open = await db()
    .select()
    .from(schema.poolTasks)
    .where(and(inArray(schema.poolTasks.poolId, ids), inArray(schema.poolTasks.state, ['queued', 'running'])))
    .orderBy(asc(schema.poolTasks.createdAt));
  const recent = await db().execute<{ id: string; pool_id: string; job_id: string; device: string; finished_at: Date; result: Record<string, number> }>(sql`
    select id, pool_id, job_id, device, finished_at, result from (
      select t.*, row_number() over (partition by pool_id order by finished_at desc) as n
      from pool_tasks t
      where t.pool_id in ${ids} and t.state = 'succeeded' and t.kind = 'benchmark' and t.result is not null
    ) r where n <= ${RECENT_RESULTS} order by finished_at desc`);
  return rows.map((row) => {
    const mine = agents.filter((a) => a.poolId === row.id);
    const agentViews = mine.map((a) => ({ id: a.id, name: a.name, profiles: a.profiles, fingerprint: a.fingerprint, online: now - a.lastSeenAt.getTime() <= AGENT_FRESH_MS, lastSeenAt: a.lastSeenAt }));
    const tasks = open.filter((t) => t.poolId === row.id);
    const results = recent.rows
      .filter((r) => r.pool_id === row.id)
      .map((r) => ({
        taskId: r.id,
        jobId: r.job_id,
        device: r.device,
        finishedAt: new Date(r.finished_at),
        decodeTokensPerSecond: Number(r.result.decodeTokensPerSecond),
        prefillTokensPerSecond: Number(r.result.prefillTokensPerSecond),
        peakRssBytes: Number(r.result.peakRssBytes),
      }));
    return {
      id: row.id,
      name: row.name ?? row.id,
      owner: 'organization' as const,
      kind: row.kind,
      profiles: row.profiles,
      online: agentViews.some((a) => a.online),
      fingerprint: row.fingerprint,
      registeredAt: row.registeredAt,
      lastSeenAt: row.lastSeenAt,
      pollers: agentViews.filter((a) => a.online).length,
      lastPollAt: mine.length ? new Date(Math.max(...mine.map((a) => a.lastSeenAt.getTime()))) : null,
      tokenPrefix: row.tokenPrefix,
      agents: agentViews,
      queueDepth: tasks.filter((t) => t.state === 'queued').length,
      currentTasks: tasks
        .filter((t) => t.state === 'running')
        .map((t) => ({ id: t.id, kind: t.kind, jobId: t.jobId, device: t.device, state: t.state, agentId: t.agentId, createdAt: t.createdAt })),
      recentResults: results,
      decodeSpread: spread(results.map((r) => r.decodeTokensPerSecond)),
    };
  });
}

/** The platform's pools and the caller's own organization pools. */
export async function listPools(caller: Caller): Promise<PoolView[]> {
  authorize(caller, 'read');
  const platform = (await listPlatformPools()).map(fromPlatform);
  const own = await db().select().from(schema.pools).where(orgScope(caller, schema.pools)).orderBy(asc(schema.pools.name));
  return [...platform, ...(await orgPoolViews(own))];
}

/** One pool the caller may see: a platform pool, or one of its organization's; else 404. */
export async function getPool(caller: Caller, id: string): Promise<PoolView> {
  authorize(caller, 'read');
  const row = await visiblePoolRow(caller.orgId, id);
  if (!row) throw notFoundError('pool', id);
  if (row.orgId === null) {
    const p = (await listPlatformPools()).find((x) => x.id === row.id);
    if (!p) throw notFoundError('pool', id);
    return fromPlatform(p);
  }
  return (await orgPoolViews([row]))[0];
}

/** A pool by id (or, for an organization's own pools, by name) that this organization may use. */
export async function visiblePoolRow(orgId: string, idOrName: string): Promise<PoolRow | null> {
  if (typeof idOrName !== 'string' || !idOrName || idOrName.length > 200) return null;
  const [row] = await db()
    .select()
    .from(schema.pools)
    .where(
      or(
        and(eq(schema.pools.id, idOrName), or(isNull(schema.pools.orgId), eq(schema.pools.orgId, orgId))),
        and(eq(schema.pools.orgId, orgId), eq(schema.pools.name, idOrName)),
      ),
    )
    .orderBy(desc(schema.pools.orgId))
    .limit(1);
  return row ?? null;
}

export interface CreatedPool {
  pool: PoolView;
  /** Shown once; only its sha256 is stored. */
  enrollmentToken: string;
}

export async function createPool(caller: Caller, body: unknown): Promise<CreatedPool> {
  authorize(caller, 'manage_pools');
  const { name } = parseInput(createPoolSchema, body);
  // target_pools names a pool by id or name: a name that is a platform pool's id would be ambiguous.
  const [platform] = await db().select({ id: schema.pools.id }).from(schema.pools).where(and(isNull(schema.pools.orgId), eq(schema.pools.id, name))).limit(1);
  if (platform) throw new DomainError('conflict', `'${name}' is the id of a platform pool; choose another name.`, { param: 'name' });
  const id = newId('pool');
  const t = newPoolToken();
  try {
    await db().transaction(async (tx) => {
      await lockOrgBilling(tx, caller.orgId);
      await assertQuota(caller.orgId, 'org_pools', 1, tx);
      await tx.insert(schema.pools).values({
        id, orgId: caller.orgId, name, kind: 'device', profiles: [], fingerprint: null, tokenHash: t.hash, tokenPrefix: t.prefix, createdBy: caller.userId,
      });
      await recordAudit(caller, { action: 'pool.created', targetType: 'pool', targetId: id, data: { name } }, tx);
    });
  } catch (e) {
    if (isUniqueViolation(e, 'pools_org_name')) throw new DomainError('conflict', `A pool named '${name}' already exists in this organization.`, { param: 'name' });
    throw e;
  }
  return { pool: await getPool(caller, id), enrollmentToken: t.token };
}

async function ownedPoolRow(caller: Caller, id: string): Promise<PoolRow> {
  const row = await visiblePoolRow(caller.orgId, id);
  if (!row) throw notFoundError('pool', id);
  if (row.orgId === null) throw new DomainError('forbidden', `Pool '${row.id}' is run by the platform operator; only your organization's own pools can be changed.`);
  return row;
}

/** A new enrollment token; the old one stops working at once (its agents get 401 on their next call). */
export async function rotatePoolToken(caller: Caller, id: string): Promise<CreatedPool> {
  authorize(caller, 'manage_pools');
  const row = await ownedPoolRow(caller, id);
  const t = newPoolToken();
  await db().transaction(async (tx) => {
    await tx.update(schema.pools).set({ tokenHash: t.hash, tokenPrefix: t.prefix }).where(orgScope(caller, schema.pools, eq(schema.pools.id, row.id)));
    await recordAudit(caller, { action: 'pool.token_rotated', targetType: 'pool', targetId: row.id, data: { name: row.name } }, tx);
  });
  return { pool: await getPool(caller, row.id), enrollmentToken: t.token };
}

/**
 * Deletes a pool with its agents and task rows. Its token stops working at once; activities it
 * held time out in Temporal and their retries find no pool, so the jobs fail saying so.
 */
export async function deletePool(caller: Caller, id: string): Promise<{ id: string; deleted: true }> {
  authorize(caller, 'manage_pools');
  const row = await ownedPoolRow(caller, id);
  await db().transaction(async (tx) => {
    await tx.delete(schema.pools).where(orgScope(caller, schema.pools, eq(schema.pools.id, row.id)));
    await recordAudit(caller, { action: 'pool.deleted', targetType: 'pool', targetId: row.id, data: { name: row.name } }, tx);
  });
  return { id: row.id, deleted: true };
}
