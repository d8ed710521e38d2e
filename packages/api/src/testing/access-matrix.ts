/**
 * Harness of the tenant-isolation and role matrices (access-matrix.integration.test.ts): the
 * list of every route that exists (enumerated from the routers and route tables, so a new route
 * cannot slip by), organizations seeded with one user per role, and one way to call any route of
 * any surface (tRPC, REST `/api/v1`, OpenAI-compatible `/v1`) in-process as any principal,
 * normalized into an Outcome. The cases themselves live in route-cases.ts.
 */
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { apiKeyRole, can, insertApiKey, scopesAllow, type Action, type Role } from '@edgetune/auth';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { uploadFile, type FileRow } from '../datasets/files';
import { createUpload, putChunk } from '../datasets/uploads';
import { uploadWhen } from './datasets';
import { newSecretToken } from '../identity/user-tokens';
import type { Route } from '../http/routes';
import { handleOpenAI, routes as openaiRoutes } from '../openai/handler';
import { handleRest, routes as restRoutes } from '../rest/handler';
import { appRouter, createCaller } from '../trpc/root';
import type { Caller, TenantTable } from '../tenant';
import { createTRPCContext } from '../trpc/procedures';
import { bytes, goodJsonl, seedPublishedModel } from './fixtures';

export type Surface = 'trpc' | 'rest' | 'v1';

// ---------------------------------------------------------------------------------------------
// Routes

/** `GET /files/{}/content` from a route's method and pattern (each capture group is a `{}`). */
export function routeTemplate(r: Pick<Route, 'method' | 'pattern'>): string {
  const path = r.pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\((?!\?)(?:[^()\\]|\\.)*\)/g, '{}')
    .replace(/\\\//g, '/')
    .replace(/\\\./g, '.');
  return `${r.method} ${path}`;
}

/**
 * Routes answered outside the route tables (handleRest serves the OpenAPI document itself); named
 * here so they get a case too.
 */
const routesOutsideTables = ['rest GET /openapi.json'];

/** Every route that exists, as `trpc <procedure path>`, `rest <METHOD> <template>`, `v1 <METHOD> <template>`. */
export function enumerateRoutes(): string[] {
  return [
    ...Object.keys(appRouter._def.procedures).map((p) => `trpc ${p}`),
    ...restRoutes.map((r) => `rest ${routeTemplate(r)}`),
    ...routesOutsideTables,
    ...openaiRoutes.map((r) => `v1 ${routeTemplate(r)}`),
  ];
}

export function surfaceOf(route: string): Surface {
  return route.slice(0, route.indexOf(' ')) as Surface;
}

/** The route-table entry of an HTTP route key (undefined for routes outside the tables). */
function tableRoute(route: string): Route | undefined {
  const surface = surfaceOf(route);
  const table = surface === 'rest' ? restRoutes : surface === 'v1' ? openaiRoutes : [];
  return table.find((r) => `${surface} ${routeTemplate(r)}` === route);
}

// ---------------------------------------------------------------------------------------------
// Cases

/**
 * Who may call a route:
 * - an Action: roles with `can(role, action)`; API keys whose scopes allow it (and whose role does)
 * - 'any': any member of the organization, any API key (no permission beyond membership)
 * - 'signed-in': any signed-in user, whatever their role (session procedures)
 * - 'public': anyone, signed in or not
 * - { roles }: exactly these roles (rules that are not a plain Action, e.g. owner-only); API keys never
 */
export type Access = Action | 'any' | 'signed-in' | 'public' | { roles: readonly Role[]; reason: RegExp };

/**
 * What the route does with tenant data, for the isolation matrix:
 * - 'object': the request names an object of the organization → another org gets 404 and the object stays as it was
 * - 'list': the answer lists the organization's objects → another org's answer shows none of them
 * - 'none': neither (catalogs, the caller's own data, creations that reference nothing)
 */
export type TenantUse = 'object' | 'list' | 'none';

/** A request aimed at objects of one organization. */
export interface Prepared {
  /** tRPC input. */
  input?: unknown;
  /** HTTP: the path below the mount point, with query string. */
  path?: string;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Snapshot of the targeted object(s); must not change when another org calls the route. */
  state?: () => Promise<unknown>;
  /** Ids / names the organization's own answer must show (a 'list' route's positive control). */
  shows?: string[];
  /**
   * What of the organization the answer may show anyone because the request holds a credential
   * for it (an invitation link shows the organization's name to whoever holds it).
   */
  reveals?: string[];
}

export interface RouteCase {
  route: string;
  access: Access;
  tenant: TenantUse;
  /**
   * Builds a request aimed at `org`'s objects, to be sent by `who`; called once per request, so
   * destructive routes get fresh objects.
   */
  prepare: (org: OrgWorld, who: Principal) => Promise<Prepared>;
  /**
   * For allowed callers, when success is not a plain 2xx: asserts the outcome shows the permission
   * check passed (e.g. a validation error that comes after it, so no real workflow is started).
   */
  allowed?: (o: Outcome, who: Principal) => void;
  /**
   * For 'none' routes whose request names something of the organization (not an id it owns, e.g. a
   * confirmation name or an invitation token): what the other organization's owner gets instead of success.
   */
  outsider?: (o: Outcome) => void;
  /** Every request in a fresh organization (routes that delete or reshape the organization or the caller's membership). */
  freshOrg?: boolean;
}

/** Whether a principal may call a route according to its Access (the matrices' expectation). */
export function expectedAllowed(access: Access, who: Principal): boolean {
  if (access === 'public') return true;
  if (who.kind === 'anonymous') return false;
  if (access === 'signed-in') return who.kind === 'session';
  if (access === 'any') return true;
  if (typeof access === 'object') return who.kind === 'session' && access.roles.includes(who.role);
  if (who.kind === 'session') return can(who.role, access);
  // An API key acts as 'admin' with the admin scope and as 'member' otherwise; its scopes bound it further.
  return scopesAllow(who.scopes, access) && can(apiKeyRole(who.scopes), access);
}

// ---------------------------------------------------------------------------------------------
// Organizations

export interface SeededModel {
  jobId: string;
  versionId: string;
  variantId: string;
  name: string;
}

export interface OrgWorld {
  orgId: string;
  name: string;
  slug: string;
  /** One user per role, each a member of this organization only. */
  users: Record<Role, { id: string; email: string }>;
  owner: Caller;
  /** Every id, name and e-mail of this organization's objects: none may appear in another org's answers. */
  markers: Set<string>;
  /** An API key with exactly these scopes (one per scope set, reused). */
  key(scopes: readonly string[]): Promise<string>;
  /** Shared objects (created once; routes that change them get fresh ones below). */
  file(): Promise<FileRow>;
  model(): Promise<SeededModel>;
  newFile(): Promise<FileRow>;
  newModel(): Promise<SeededModel>;
  /** A job row that is still running (no workflow behind it: cancelling records the cancellation). */
  newRunningJob(): Promise<{ id: string }>;
  newApiKey(scopes?: string[]): Promise<{ id: string; key: string }>;
  /** A further user with this role in the organization. */
  newUser(role: Role): Promise<{ id: string; email: string }>;
  /** A pending invitation to the organization (to a fresh address unless given), with its link's token. */
  newInvitation(email?: string): Promise<{ id: string; token: string; email: string }>;
  /** A resumable upload of a valid file; `filled`: every byte has arrived (ready to complete). */
  newUpload(filled?: boolean): Promise<{ id: string; bytes: Buffer }>;
  /** An event of the organization's audit log. */
  newAuditEvent(): Promise<{ id: string }>;
}

const hex = (n = 4) => randomBytes(n).toString('hex');

async function insertUser(orgId: string, role: Role, tag: string): Promise<{ id: string; email: string }> {
  const id = newId('user');
  const email = `${tag}-${role}-${hex(5)}@example.test`;
  await db().insert(schema.users).values({ id, email, name: `${tag} ${role}`, emailVerifiedAt: new Date() });
  await db().insert(schema.memberships).values({ orgId, userId: id, role });
  return { id, email };
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= make());
}

/**
 * An organization with one user per role, written directly (no password hashing, so a fresh one
 * per destructive request is cheap). Its objects are created on demand.
 */
export async function makeOrg(tag: string): Promise<OrgWorld> {
  const orgId = newId('org');
  const name = `${tag} ${hex(3)}`;
  const slug = `${tag}-${hex(5)}`;
  await db().insert(schema.orgs).values({ id: orgId, name, slug });
  const users = {} as Record<Role, { id: string; email: string }>;
  for (const role of ['owner', 'admin', 'member', 'viewer'] as const) users[role] = await insertUser(orgId, role, tag);
  const markers = new Set<string>([orgId, name, slug, ...Object.values(users).flatMap((u) => [u.id, u.email])]);
  const owner: Caller = { orgId, userId: users.owner.id, role: 'owner', via: 'session', scopes: [] };
  const keys = new Map<string, Promise<string>>();

  const newFile = async () => {
    const f = await uploadFile(owner, { filename: `${tag}-${hex()}.jsonl`, purpose: 'fine-tune', body: bytes(goodJsonl(2)) });
    markers.add(f.id).add(f.filename);
    if (f.datasetId) markers.add(f.datasetId);
    return f;
  };
  const newModel = async () => {
    const f = await newFile();
    const m = await seedPublishedModel(orgId, f.id);
    for (const v of [m.jobId, m.versionId, m.variantId, m.name]) markers.add(v);
    return { jobId: m.jobId, versionId: m.versionId, variantId: m.variantId, name: m.name };
  };
  const newApiKey = async (scopes?: string[]) => {
    const k = await insertApiKey({ orgId, createdBy: users.owner.id, name: `${tag} key ${hex()}`, scopes });
    markers.add(k.id).add(k.prefix).add(k.name);
    return { id: k.id, key: k.key };
  };
  return {
    orgId,
    name,
    slug,
    users,
    owner,
    markers,
    key(scopes) {
      const id = [...scopes].sort().join(',');
      if (!keys.has(id)) keys.set(id, newApiKey([...scopes]).then((k) => k.key));
      return keys.get(id)!;
    },
    file: once(newFile),
    model: once(newModel),
    newFile,
    newModel,
    async newRunningJob() {
      const file = await newFile();
      const id = newId('job');
      await db().insert(schema.jobs).values({
        id,
        orgId,
        baseModel: 'lfm2-tiny',
        trainingFileId: file.id,
        hyperparameters: { method: 'lora', n_epochs: 1, learning_rate: 2e-3, batch_size: 8, lora_rank: 16 },
        targetDevices: ['x86_64-avx2'],
        seed: 1,
        status: 'running',
        // No workflow was started under this id: the matrices never launch real training.
        workflowId: `fine-tune-${id}`,
      });
      markers.add(id);
      return { id };
    },
    newApiKey,
    async newUser(role) {
      const u = await insertUser(orgId, role, tag);
      markers.add(u.id).add(u.email);
      return u;
    },
    async newInvitation(email = `${tag}-invitee-${hex(5)}@example.test`) {
      const { token, hash } = newSecretToken();
      const id = newId('invitation');
      await db()
        .insert(schema.invitations)
        .values({ id, orgId, email, role: 'member', tokenHash: hash, invitedBy: users.owner.id, expiresAt: new Date(Date.now() + 24 * 3600_000) });
      markers.add(id);
      return { id, token, email };
    },
    async newUpload(filled = false) {
      const text = Buffer.from(goodJsonl(2));
      const u = await createUpload(owner, { filename: `${tag}-upload-${hex()}.jsonl`, size: text.length });
      markers.add(u.id).add(u.filename);
      if (filled) {
        await putChunk(owner, u.id, { contentRange: `bytes 0-${text.length - 1}/${text.length}`, contentLength: text.length, body: bytes(text.toString()) });
        // Validation follows the part and records its progress in the row: let it settle, so that
        // whatever changes the row afterwards is the request under test.
        await uploadWhen(owner, u.id, (st) => st.validated === text.length, 10_000);
      }
      return { id: u.id, bytes: text };
    },
    async newAuditEvent() {
      const id = newId('audit');
      await db()
        .insert(schema.auditEvents)
        .values({ id, orgId, actorUserId: users.owner.id, actorLabel: users.owner.email, action: 'member.invited', targetType: 'invitation', targetId: newId('invitation') });
      markers.add(id);
      return { id };
    },
  };
}

/** A user of no organization (holder of e-mailed links: those belong to a person, not a tenant). */
export async function standaloneUser(verified = true): Promise<{ id: string; email: string }> {
  const id = newId('user');
  const email = `matrix-person-${hex(5)}@example.test`;
  await db().insert(schema.users).values({ id, email, name: 'matrix person', emailVerifiedAt: verified ? new Date() : null });
  return { id, email };
}

/** A row of a table by id, for Prepared.state (null once gone). */
export async function rowOf(table: TenantTable | typeof schema.orgs, id: string): Promise<unknown> {
  const [row] = await db()
    .select()
    .from(table as TenantTable)
    .where(eq((table as TenantTable).id, id))
    .limit(1);
  return row ?? null;
}

/** A user's membership row in an organization (null when not a member). */
export async function membershipState(orgId: string, userId: string): Promise<unknown> {
  const [row] = await db()
    .select()
    .from(schema.memberships)
    .where(and(eq(schema.memberships.orgId, orgId), eq(schema.memberships.userId, userId)))
    .limit(1);
  return row ?? null;
}

/** All memberships of an organization, in a stable order. */
export async function membershipsState(orgId: string): Promise<unknown> {
  const rows = await db().select().from(schema.memberships).where(eq(schema.memberships.orgId, orgId));
  return rows.sort((x, y) => x.userId.localeCompare(y.userId));
}

/** A file's row and whether its stored object still exists. */
export async function fileState(id: string): Promise<unknown> {
  const row = (await rowOf(schema.files, id)) as FileRow | null;
  return { row, stored: row ? !!(await storage().head(row.storageKey)) : null };
}

// ---------------------------------------------------------------------------------------------
// Principals and calls

export type Principal =
  | { kind: 'session'; role: Role; userId: string; email: string; label: string }
  | { kind: 'key'; scopes: readonly string[]; key: string; label: string }
  | { kind: 'anonymous'; label: string };

export const sessionOf = (org: OrgWorld, role: Role): Principal => ({
  kind: 'session',
  role,
  userId: org.users[role].id,
  email: org.users[role].email,
  label: `${role} (session)`,
});
export const keyOf = async (org: OrgWorld, scopes: readonly string[]): Promise<Principal> => ({
  kind: 'key',
  scopes,
  key: await org.key(scopes),
  label: `key [${scopes.join(', ')}]`,
});

/** A call's result on any surface. */
export interface Outcome {
  /** HTTP status (tRPC: what its HTTP adapter would answer). */
  status: number;
  /** Error code: tRPC's ('FORBIDDEN'), REST's error.code ('forbidden'), OpenAI's error.code; null on success. */
  code: string | null;
  message: string | null;
  /** The parsed JSON answer (REST and /v1), or { code, message } of a tRPC error, or a tRPC result. */
  json: unknown;
  /** Everything the caller received, as text (for leak checks). */
  text: string;
}

const BASE = { rest: 'http://edgetune.test/api/v1', v1: 'http://edgetune.test/v1' } as const;

/** Text of a tRPC result (BigInt-safe; a stream or Buffer is read as its text). */
function stringify(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? '';
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** What the request carries, as text: markers found in it may be echoed back (a 404 names the id it did not find). */
export function requestText(p: Prepared): string {
  const path = p.path ?? '';
  return [path, safeDecode(path), stringify(p.input), typeof p.body === 'string' ? p.body : ''].join('\n');
}

/** Calls one route as one principal. */
export async function invoke(route: string, p: Prepared, who: Principal): Promise<Outcome> {
  const surface = surfaceOf(route);
  const authorization = who.kind === 'key' ? `Bearer ${who.key}` : null;
  if (surface === 'trpc') {
    const headers = new Headers(authorization ? { authorization } : {});
    const caller = createCaller(await createTRPCContext({ sessionUserId: who.kind === 'session' ? who.userId : null, headers, resHeaders: new Headers() }));
    const path = route.slice('trpc '.length);
    const fn = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (input: unknown) => Promise<unknown>;
    try {
      const result = await fn(p.input);
      return { status: 200, code: null, message: null, json: result, text: stringify(result) };
    } catch (e) {
      if (!(e instanceof TRPCError)) throw e;
      const json = { code: e.code, message: e.message };
      return { status: getHTTPStatusCodeFromError(e), code: e.code, message: e.message, json, text: stringify(json) };
    }
  }
  const [method] = route.slice(surface.length + 1).split(' ');
  if (!p.path) throw new Error(`${route}: the case prepared no path`);
  const table = tableRoute(route);
  const pathname = p.path.split('?')[0];
  if (table && !table.pattern.test(pathname)) throw new Error(`${route}: the prepared path ${p.path} does not match this route`);
  const headers = new Headers(p.headers ?? {});
  if (authorization) headers.set('authorization', authorization);
  // The portal's pages: a browser sends their origin with every write.
  if (who.kind === 'session') headers.set('origin', new URL(BASE[surface]).origin);
  const req = new Request(BASE[surface] + p.path, { method, headers, body: p.body });
  if (surface === 'v1' && who.kind === 'session') throw new Error('/v1 takes API keys only');
  const res = surface === 'rest' ? await handleRest(req, { sessionUserId: who.kind === 'session' ? who.userId : null }) : await handleOpenAI(req);
  // In-process a HEAD answer keeps its error body (a server would drop it): its shape is checked too.
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const error = res.status >= 400 ? (json as { error?: { code?: string | null; type?: string; message?: string } } | null)?.error : undefined;
  return { status: res.status, code: error ? (error.code ?? null) : null, message: error?.message ?? null, json, text };
}
