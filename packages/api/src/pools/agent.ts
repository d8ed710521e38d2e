/**
 * The platform's side of an organization pool's agent, which speaks only HTTPS with the pool's
 * enrollment token: register, long-poll for a task, heartbeat, complete, fail, and move the
 * task's objects (presigned URLs of the object store, or the platform's own routes when the store
 * cannot sign). Every task is one attempt of a Temporal activity completed asynchronously: the
 * task token never leaves the platform, and these calls heartbeat, complete or fail it, so
 * Temporal keeps owning timeouts, retries and cancellation.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, eq, sql } from 'drizzle-orm';
import { assertNotLocked, countAttempt, hashSecretToken, limitKeys, lockedError, looksLikeSecretToken, rateLimitRules, type RequestMeta } from '@edgetune/auth';
import {
  agentCompleteSchema,
  agentFailSchema,
  agentHeartbeatSchema,
  agentPollSchema,
  agentRegisterSchema,
  benchmarkResultSchema,
  DomainError,
  newId,
  profileRefusal,
  quantizeResultSchema,
  type AgentTask,
  type PoolTaskInput,
  type TaskObject,
} from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { ActivityCancelledError, ActivityNotFoundError, ApplicationFailure, temporalClient } from '@edgetune/temporal';
import { parseInput } from '../errors';
import { resolveMachineToken } from '../http/machine-tokens';
import { POOL_TOKEN_PREFIX } from './pools';
import { notifyPoolTask, waitForPoolTask } from './wakeups';

type PoolRow = typeof schema.pools.$inferSelect;
type TaskRow = typeof schema.poolTasks.$inferSelect;

/** How often an agent heartbeats a running task (the activity's heartbeat timeout is a minute). */
export const AGENT_HEARTBEAT_SECONDS = 10;
const PRESIGN_SECONDS = 3600;
const TOKEN_RECHECK_MS = 1000;

export interface AgentCaller {
  pool: PoolRow;
}

/**
 * The pool of an enrollment token, or 401. Wrong tokens count against the client address; the
 * requests of a valid token count against its pool (a flooding agent gets 429).
 */
export async function agentFromToken(token: string | null, meta: RequestMeta): Promise<AgentCaller> {
  const pool = await resolveMachineToken({
    token,
    meta,
    ipKey: limitKeys.poolTokenIp,
    failures: 'failed pool token attempts from your address',
    lookup: (t) => (looksLikeSecretToken(t, POOL_TOKEN_PREFIX) ? poolByToken(t) : Promise.resolve(null)),
    refusal: 'This pool enrollment token is not valid: it was rotated, or its pool was deleted. Ask an owner or admin of the organization for the current token.',
    missing: "Send the pool's enrollment token as 'Authorization: Bearer etp_…'.",
  });
  const key = limitKeys.poolAgent(pool.id);
  await assertNotLocked([key], 'requests from this pool');
  const until = await countAttempt(key, rateLimitRules().poolAgent);
  if (until) throw lockedError('requests from this pool', until);
  return { pool };
}

async function poolByToken(token: string): Promise<PoolRow | null> {
  const [row] = await db().select().from(schema.pools).where(eq(schema.pools.tokenHash, hashSecretToken(token))).limit(1);
  return row && row.orgId ? row : null;
}

async function agentOf(caller: AgentCaller, agentId: string) {
  const [a] = await db()
    .select()
    .from(schema.poolAgents)
    .where(and(eq(schema.poolAgents.id, agentId), eq(schema.poolAgents.poolId, caller.pool.id)))
    .limit(1);
  if (!a) throw new DomainError('not_found', `No agent '${agentId}' in this pool: register first (POST /api/v1/agent/register).`, { param: 'agent_id' });
  return a;
}

export interface RegisteredAgent {
  agentId: string;
  poolId: string;
  poolName: string;
  profiles: string[];
  heartbeatEverySeconds: number;
}

/**
 * An agent joins its pool with its fingerprint. A profile its hardware cannot run (an arm64
 * profile on x86, a CPU flag it does not report) is refused with the reason.
 */
export async function registerAgent(caller: AgentCaller, body: unknown): Promise<RegisteredAgent> {
  const { name, fingerprint } = parseInput(agentRegisterSchema, body);
  const refusals = fingerprint.profiles.map((p) => profileRefusal(p, fingerprint.arch, fingerprint.isaFlags)).filter((r): r is string => r !== null);
  if (refusals.length) {
    throw new DomainError('invalid_request', `This machine cannot serve the profiles it claims: ${refusals.join('; ')}.`, {
      param: 'fingerprint.profiles',
      details: refusals.map((message) => ({ field: 'fingerprint.profiles', message })),
    });
  }
  const pool = caller.pool;
  const fp = { ...fingerprint, pool: pool.id };
  const [agent] = await db()
    .insert(schema.poolAgents)
    .values({ id: newId('poolAgent'), poolId: pool.id, orgId: pool.orgId!, name, profiles: fp.profiles, fingerprint: fp })
    .onConflictDoUpdate({ target: [schema.poolAgents.poolId, schema.poolAgents.name], set: { profiles: fp.profiles, fingerprint: fp, lastSeenAt: sql`now()` } })
    .returning();
  // The pool serves what its agents serve together.
  await db().execute(sql`
    update pools set fingerprint = ${JSON.stringify(fp)}::jsonb, last_seen_at = now(),
      profiles = coalesce((select array_agg(distinct p order by p) from pool_agents a, unnest(a.profiles) p where a.pool_id = ${pool.id}), '{}')
    where id = ${pool.id}`);
  return { agentId: agent.id, poolId: pool.id, poolName: pool.name ?? pool.id, profiles: fp.profiles, heartbeatEverySeconds: AGENT_HEARTBEAT_SECONDS };
}

const decodeToken = (t: TaskRow) => new Uint8Array(Buffer.from(t.taskToken, 'base64'));

async function finish(t: TaskRow, state: TaskRow['state'], fields: { error?: string; result?: Record<string, unknown> } = {}): Promise<void> {
  await db()
    .update(schema.poolTasks)
    .set({ state, finishedAt: new Date(), ...fields })
    .where(eq(schema.poolTasks.id, t.id));
}

/** Claims the oldest queued task of the pool whose device this agent serves. */
async function claim(pool: PoolRow, agentId: string, profiles: string[]): Promise<TaskRow | null> {
  if (!profiles.length) return null;
  const r = await db().execute<{ id: string }>(sql`
    update pool_tasks set state = 'running', agent_id = ${agentId}, claimed_at = now(), heartbeat_at = now()
    where id = (
      select id from pool_tasks
      where pool_id = ${pool.id} and state = 'queued' and device in ${profiles}
      order by created_at limit 1 for update skip locked
    )
    returning id`);
  const id = r.rows[0]?.id;
  if (!id) return null;
  const [row] = await db().select().from(schema.poolTasks).where(eq(schema.poolTasks.id, id));
  return row ?? null;
}

class MissingInput extends Error {}

async function objectFor(taskId: string, name: string, key: string, mode: 'get' | 'put'): Promise<TaskObject> {
  const store = storage();
  const info = mode === 'get' ? await store.head(key) : null;
  if (mode === 'get' && !info) throw new MissingInput(`the task's input ${key} is missing from the object store`);
  const presigned = mode === 'get' ? await store.presignGet(key, { expiresInSeconds: PRESIGN_SECONDS }) : await store.presignPut(key, { expiresInSeconds: PRESIGN_SECONDS });
  return {
    key,
    url: presigned ?? `/api/v1/agent/tasks/${encodeURIComponent(taskId)}/objects/${encodeURIComponent(name)}`,
    platform: presigned === null,
    ...(info ? { size_bytes: info.sizeBytes } : {}),
  };
}

/** The objects a task reads and writes, by name. */
function taskObjects(input: PoolTaskInput): { inputs: Record<string, string>; outputs: Record<string, string> } {
  return input.kind === 'quantize'
    ? { inputs: { source: input.sourceKey, ...(input.calibrationKey ? { calibration: input.calibrationKey } : {}) }, outputs: { model: input.outputKey } }
    : { inputs: { model: input.modelKey, eval: input.evalKey, ...(input.referenceKey ? { reference: input.referenceKey } : {}) }, outputs: {} };
}

async function agentTask(t: TaskRow): Promise<AgentTask> {
  const objects = taskObjects(t.input);
  const inputs: Record<string, TaskObject> = {};
  const outputs: Record<string, TaskObject> = {};
  for (const [name, key] of Object.entries(objects.inputs)) inputs[name] = await objectFor(t.id, name, key, 'get');
  for (const [name, key] of Object.entries(objects.outputs)) outputs[name] = await objectFor(t.id, name, key, 'put');
  return { id: t.id, kind: t.kind, attempt: t.attempt, input: t.input, inputs, outputs, heartbeat_every_seconds: AGENT_HEARTBEAT_SECONDS };
}

/**
 * Long-poll: the next task for this agent, or null after `wait_seconds`. The pool's token is
 * checked on every round, so a rotated token or a deleted pool ends the poll with 401 within
 * a fraction of a second.
 */
export async function pollTask(caller: AgentCaller, body: unknown, signal?: AbortSignal): Promise<AgentTask | null> {
  const { agent_id, wait_seconds } = parseInput(agentPollSchema, body);
  const agent = await agentOf(caller, agent_id);
  const deadline = Date.now() + (wait_seconds ?? 20) * 1000;
  await db().update(schema.poolAgents).set({ lastSeenAt: new Date() }).where(eq(schema.poolAgents.id, agent.id));
  let tokenCheckedAt = Date.now();
  for (;;) {
    const t = await claim(caller.pool, agent.id, agent.profiles);
    if (t) {
      try {
        // Confirms the attempt is still current before the agent spends time on it.
        await (await temporalClient()).activity.heartbeat(decodeToken(t), { claimedBy: agent.name });
        return await agentTask(t);
      } catch (e) {
        if (e instanceof ActivityNotFoundError) {
          await finish(t, 'superseded', { error: 'the activity attempt timed out or was retried before an agent took it' });
          continue;
        }
        if (e instanceof ActivityCancelledError) {
          await finish(t, 'cancelled');
          await (await temporalClient()).activity.reportCancellation(decodeToken(t)).catch(() => undefined);
          continue;
        }
        if (e instanceof MissingInput) {
          // No agent could ever run it: the job fails saying which object is gone.
          const failure = ApplicationFailure.nonRetryable(e.message, 'PoolUnavailable');
          await (await temporalClient()).activity.fail(decodeToken(t), failure).catch(() => undefined);
          await finish(t, 'failed', { error: e.message });
          continue;
        }
        // Put it back for the next poll rather than strand it.
        await db().transaction(async (tx) => {
          await tx.update(schema.poolTasks).set({ state: 'queued', agentId: null, claimedAt: null }).where(eq(schema.poolTasks.id, t.id));
          await notifyPoolTask(tx, t.poolId);
        });
        throw e;
      }
    }
    if (Date.now() >= deadline || signal?.aborted) return null;
    // Until a task is queued for the pool (NOTIFY), or the next token check is due.
    await waitForPoolTask(caller.pool.id, Math.min(TOKEN_RECHECK_MS - (Date.now() - tokenCheckedAt), deadline - Date.now()), signal);
    // The token once a second (a rotation is refused within about that), the queue every round.
    if (Date.now() - tokenCheckedAt >= TOKEN_RECHECK_MS) {
      tokenCheckedAt = Date.now();
      const [still] = await db().select({ hash: schema.pools.tokenHash }).from(schema.pools).where(eq(schema.pools.id, caller.pool.id));
      if (!still || still.hash !== caller.pool.tokenHash) {
        throw new DomainError('unauthenticated', 'This pool enrollment token was rotated, or its pool was deleted, while the agent was waiting.');
      }
    }
  }
}

/** A task of this pool held by this agent, or 404 (a task it does not hold is refused). */
async function heldTask(caller: AgentCaller, taskId: string, agentId: string): Promise<TaskRow> {
  const [t] = await db()
    .select()
    .from(schema.poolTasks)
    .where(and(eq(schema.poolTasks.id, taskId), eq(schema.poolTasks.poolId, caller.pool.id)))
    .limit(1);
  if (!t || t.agentId !== agentId) throw new DomainError('not_found', `This agent holds no task '${taskId}'.`, { param: 'task_id' });
  if (t.state !== 'running') {
    throw new DomainError('conflict', `Task '${taskId}' is ${t.state}; it no longer accepts heartbeats or results.`, { param: 'task_id' });
  }
  return t;
}

/** Maps Temporal's answer for a task token onto the task row and the agent's answer. */
async function withToken<T>(t: TaskRow, fn: (token: Uint8Array) => Promise<T>): Promise<T> {
  try {
    return await fn(decodeToken(t));
  } catch (e) {
    if (e instanceof ActivityNotFoundError) {
      await finish(t, 'superseded', { error: 'the activity attempt timed out, was retried or its job ended' });
      throw new DomainError('conflict', `Task '${t.id}' is no longer current: it timed out, was retried elsewhere, or its job ended.`, { param: 'task_id' });
    }
    throw e;
  }
}

export async function heartbeatTask(caller: AgentCaller, taskId: string, body: unknown): Promise<{ cancel: boolean }> {
  const { agent_id, progress } = parseInput(agentHeartbeatSchema, body);
  const t = await heldTask(caller, taskId, agent_id);
  await db().update(schema.poolTasks).set({ heartbeatAt: new Date() }).where(eq(schema.poolTasks.id, t.id));
  await db().update(schema.poolAgents).set({ lastSeenAt: new Date() }).where(eq(schema.poolAgents.id, agent_id));
  try {
    await withToken(t, async (token) => (await temporalClient()).activity.heartbeat(token, progress ?? {}));
    return { cancel: false };
  } catch (e) {
    if (e instanceof ActivityCancelledError) return { cancel: true };
    throw e;
  }
}

/** sha256 of a stored object, read back from the store: the platform trusts what it holds, not what it is told. */
async function storedSha256(key: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(await storage().get(key), h);
  return h.digest('hex');
}

export async function completeTask(caller: AgentCaller, taskId: string, body: unknown): Promise<{ accepted: true }> {
  const { agent_id, result } = parseInput(agentCompleteSchema, body);
  const t = await heldTask(caller, taskId, agent_id);
  let accepted: Record<string, unknown>;
  if (t.input.kind === 'quantize') {
    const q = parseInput(quantizeResultSchema, result, 'result');
    if (q.key !== t.input.outputKey) throw new DomainError('invalid_request', `The result names ${q.key}; this task writes ${t.input.outputKey}.`, { param: 'result.key' });
    if (q.quantization !== t.input.quantization) {
      throw new DomainError('invalid_request', `The result is ${q.quantization}; this task asked for ${t.input.quantization}.`, { param: 'result.quantization' });
    }
    const info = await storage().head(q.key);
    if (!info) throw new DomainError('invalid_request', `Nothing was uploaded to ${q.key}: upload the output before completing.`, { param: 'result.key' });
    if (info.sizeBytes !== q.sizeBytes) {
      throw new DomainError('invalid_request', `The uploaded object has ${info.sizeBytes} bytes; the result claims ${q.sizeBytes}.`, { param: 'result.sizeBytes' });
    }
    const actual = await storedSha256(q.key);
    if (actual !== q.sha256) {
      throw new DomainError('invalid_request', `The uploaded object's sha256 is ${actual}; the result claims ${q.sha256}. Upload it again.`, { param: 'result.sha256' });
    }
    accepted = q;
  } else {
    const b = parseInput(benchmarkResultSchema, result, 'result');
    accepted = { ...b, fingerprint: { ...b.fingerprint, pool: caller.pool.id } };
  }
  await withToken(t, async (token) => (await temporalClient()).activity.complete(token, accepted));
  await finish(t, 'succeeded', { result: accepted });
  return { accepted: true };
}

export async function failTask(caller: AgentCaller, taskId: string, body: unknown): Promise<{ accepted: true }> {
  const { agent_id, message, retryable, cancelled } = parseInput(agentFailSchema, body);
  const t = await heldTask(caller, taskId, agent_id);
  const client = await temporalClient();
  if (cancelled) {
    await withToken(t, (token) => client.activity.reportCancellation(token, { message }));
    await finish(t, 'cancelled', { error: message });
  } else {
    const failure = ApplicationFailure.create({ message: `${t.kind} on pool ${caller.pool.name ?? caller.pool.id}: ${message}`, type: 'AgentError', nonRetryable: retryable === false });
    await withToken(t, (token) => client.activity.fail(token, failure));
    await finish(t, 'failed', { error: message });
  }
  return { accepted: true };
}

/** The key of a task's object by name, for the platform's own object routes. */
async function taskObjectKey(caller: AgentCaller, taskId: string, name: string, mode: 'get' | 'put'): Promise<string> {
  const [t] = await db()
    .select()
    .from(schema.poolTasks)
    .where(and(eq(schema.poolTasks.id, taskId), eq(schema.poolTasks.poolId, caller.pool.id), eq(schema.poolTasks.state, 'running')))
    .limit(1);
  if (!t) throw new DomainError('not_found', `This pool holds no running task '${taskId}'.`, { param: 'task_id' });
  const key = taskObjects(t.input)[mode === 'get' ? 'inputs' : 'outputs'][name];
  if (!key) throw new DomainError('not_found', `Task '${taskId}' has no ${mode === 'get' ? 'input' : 'output'} named '${name}'.`, { param: 'name' });
  return key;
}

export async function readTaskObject(caller: AgentCaller, taskId: string, name: string): Promise<{ stream: Readable; size: number }> {
  const key = await taskObjectKey(caller, taskId, name, 'get');
  const info = await storage().head(key);
  if (!info) throw new DomainError('not_found', `The input '${name}' of task '${taskId}' is missing.`);
  return { stream: await storage().get(key), size: info.sizeBytes };
}

export async function writeTaskObject(caller: AgentCaller, taskId: string, name: string, body: Readable): Promise<{ key: string; size_bytes: number }> {
  const key = await taskObjectKey(caller, taskId, name, 'put');
  const info = await storage().put(key, body);
  return { key, size_bytes: info.sizeBytes };
}
