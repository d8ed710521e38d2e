/**
 * The isolation and role matrices over every route that exists (tRPC procedures, REST `/api/v1`,
 * OpenAI-compatible `/v1`), run in-process against the real database, storage and Temporal:
 * - coverage: the routes enumerated from the routers and route tables = the routes with a case
 * - isolation: the owner of another organization gets 404 for every object of this one (and the
 *   object stays as it was); no answer to them shows anything of this organization
 * - roles: each role (tRPC and REST sessions) and each API key scope (REST and /v1) is allowed or
 *   refused (403 with the reason, nothing else) exactly as packages/auth's matrix says
 */
import './testing/env';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiKeyRole, apiKeyScopes, denyReason, roles, scopeDenyReason } from '@edgetune/auth';
import {
  enumerateRoutes,
  expectedAllowed,
  invoke,
  keyOf,
  makeOrg,
  requestText,
  sessionOf,
  surfaceOf,
  type Access,
  type Outcome,
  type OrgWorld,
  type Principal,
  type Surface,
} from './testing/access-matrix';
import { useDatabase } from './testing/fixtures';
import { routeCases, webRouteHandlers } from './testing/route-cases';

useDatabase();

test('every route that exists has exactly one case in the matrices', () => {
  const routes = enumerateRoutes();
  const cases = routeCases.map((c) => c.route);
  const dup = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
  assert.deepEqual(dup(routes), [], 'two routes share a method and path');
  assert.deepEqual(dup(cases), [], 'a route has two cases in testing/route-cases.ts');
  const missing = routes.filter((r) => !cases.includes(r));
  const stale = cases.filter((c) => !routes.includes(c));
  assert.deepEqual(missing, [], `routes without a case in packages/api/src/testing/route-cases.ts: ${missing.join('; ')}`);
  assert.deepEqual(stale, [], `cases for routes that no longer exist: ${stale.join('; ')}`);
  // the enumeration itself must see all three surfaces, or the comparison above proves nothing
  for (const s of ['trpc', 'rest', 'v1'] as const) assert.ok(routes.some((r) => surfaceOf(r) === s), `no ${s} routes enumerated`);
});

test('every route handler of the web app is one of the adapters, or named with why it holds no tenant data', () => {
  const app = fileURLToPath(new URL('../../../apps/web/app/', import.meta.url));
  const handlers = (readdirSync(app, { recursive: true }) as string[])
    .filter((f) => /(^|[\\/])route\.(ts|tsx|js)$/.test(f))
    .map((f) => path.dirname(f).split(path.sep).join('/'))
    .sort();
  assert.ok(handlers.includes('api/trpc/[trpc]'), `the web app's handlers were not found under ${app}`);
  const unknown = handlers.filter((h) => !(h in webRouteHandlers));
  assert.deepEqual(unknown, [], `route handlers not covered by the matrices (add them to webRouteHandlers in testing/route-cases.ts, or route them through an adapter): ${unknown.join('; ')}`);
  const gone = Object.keys(webRouteHandlers).filter((h) => !handlers.includes(h));
  assert.deepEqual(gone, [], `webRouteHandlers names handlers that no longer exist: ${gone.join('; ')}`);
});

// ---------------------------------------------------------------------------------------------
// Expectations

function assertOk(o: Outcome): void {
  assert.ok(o.status >= 200 && o.status < 300, `expected success, got ${o.status}: ${o.text.slice(0, 300)}`);
}

/** The error body of an HTTP surface: the error object and nothing else (no data rides along). */
function httpError(surface: Surface, o: Outcome): Record<string, unknown> {
  const body = o.json as Record<string, unknown> | null;
  assert.ok(body && typeof body === 'object', `expected a JSON error body, got: ${o.text.slice(0, 200)}`);
  assert.deepEqual(Object.keys(body), ['error'], 'an error answer carries the error only');
  const error = body.error as Record<string, unknown>;
  if (surface === 'v1') assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type'], "OpenAI's error shape");
  else {
    assert.deepEqual(Object.keys(error).sort(), ['code', 'details', 'message', 'param']);
    assert.deepEqual(error.details, []);
  }
  assert.equal(typeof error.message, 'string');
  return error;
}

function assertNotFound(surface: Surface, o: Outcome): void {
  if (surface === 'trpc') {
    assert.equal(o.code, 'NOT_FOUND', `expected NOT_FOUND, got ${o.status} ${o.text.slice(0, 300)}`);
    return;
  }
  assert.equal(o.status, 404, `expected 404, got ${o.status}: ${o.text.slice(0, 300)}`);
  const error = httpError(surface, o);
  if (surface === 'v1') {
    assert.equal(error.type, 'invalid_request_error');
    assert.ok(['not_found', 'model_not_found'].includes(String(error.code)), `OpenAI code ${String(error.code)}`);
  } else assert.equal(error.code, 'not_found');
}

function assertForbidden(surface: Surface, o: Outcome, who: Principal, access: Access): void {
  assert.equal(o.status, 403, `expected 403, got ${o.status}: ${o.text.slice(0, 300)}`);
  if (surface === 'trpc') assert.equal(o.code, 'FORBIDDEN');
  else assert.equal(httpError(surface, o).code, 'forbidden');
  // the refusal says why, in the words the portal shows next to the disabled action
  const message = o.message ?? '';
  const isAction = access !== 'any' && access !== 'public' && access !== 'signed-in' && typeof access === 'string';
  let expected: string | null = null;
  if (typeof access === 'object') assert.match(message, access.reason);
  else if (isAction && who.kind === 'session') expected = denyReason(who.role, access);
  else if (isAction && who.kind === 'key') expected = scopeDenyReason(who.scopes, access) ?? denyReason(apiKeyRole(who.scopes), access);
  else assert.ok(message.length > 0, 'a refusal carries its reason');
  if (expected !== null) assert.equal(message, expected, `the reason is "${message}", expected "${expected}"`);
}

function assertUnauthenticated(surface: Surface, o: Outcome): void {
  assert.equal(o.status, 401, `expected 401, got ${o.status}: ${o.text.slice(0, 300)}`);
  if (surface !== 'trpc') httpError(surface, o);
}

/** Runs `check` for each principal (by label), collecting every mismatch so one failure lists them all. */
async function eachLabel(labels: string[], check: (label: string) => Promise<void>): Promise<void> {
  const problems: string[] = [];
  for (const label of labels) {
    try {
      await check(label);
    } catch (e) {
      problems.push(`${label}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  assert.equal(problems.length, 0, problems.join('\n'));
}

// ---------------------------------------------------------------------------------------------

describe('tenant isolation: the owner of another organization, on every route', () => {
  let a: OrgWorld;
  let b: OrgWorld;
  before(async () => {
    a = await makeOrg('iso-a');
    b = await makeOrg('iso-b');
  });

  /** The other organization's most powerful principals on each surface (isolation must not rest on permissions). */
  async function outsiders(surface: Surface, org: OrgWorld): Promise<Principal[]> {
    if (surface === 'trpc') return [sessionOf(org, 'owner')];
    const key = await keyOf(org, ['admin']);
    return surface === 'rest' ? [sessionOf(org, 'owner'), key] : [key];
  }
  async function insider(surface: Surface, org: OrgWorld): Promise<Principal> {
    return surface === 'v1' ? keyOf(org, ['admin']) : sessionOf(org, 'owner');
  }

  for (const c of routeCases) {
    test(c.route, async () => {
      const surface = surfaceOf(c.route);
      const labels = (await outsiders(surface, b)).map((p) => p.label);
      await eachLabel(labels, async (label) => {
        // routes that reshape or delete an organization get fresh ones on both sides
        const target = c.freshOrg ? await makeOrg('iso-a') : a;
        const who = (await outsiders(surface, c.freshOrg ? await makeOrg('iso-b') : b)).find((p) => p.label === label)!;
        const p = await c.prepare(target, who);
        const stateBefore = await p.state?.();
        const o = await invoke(c.route, p, who);
        if (c.tenant === 'object') assertNotFound(surface, o);
        else if (c.outsider) c.outsider(o);
        else if (expectedAllowed(c.access, who)) (c.allowed ?? assertOk)(o, who);
        assert.deepEqual(await p.state?.(), stateBefore, "the other organization's object changed");
        const asked = requestText(p);
        const leaked = [...target.markers].filter((m) => !asked.includes(m) && !p.reveals?.includes(m) && o.text.includes(m));
        assert.deepEqual(leaked, [], 'the answer shows objects of the other organization');
        if (c.tenant === 'list') {
          // positive control: the organization's own answer does show them
          assert.ok(p.shows?.length, 'a list case names what the list must show');
          const owner = await insider(surface, target);
          const own = await invoke(c.route, await c.prepare(target, owner), owner);
          assertOk(own);
          for (const id of p.shows!) assert.ok(own.text.includes(id), `the owner's own list lacks ${id}`);
        }
      });
    });
  }
});

describe('role matrix: each role through tRPC and REST sessions, each API key scope through REST and /v1 (and tRPC)', () => {
  let a: OrgWorld;
  before(async () => {
    a = await makeOrg('roles');
  });

  async function principals(surface: Surface, org: OrgWorld): Promise<Principal[]> {
    const anonymous: Principal = { kind: 'anonymous', label: 'anonymous' };
    const sessions = roles.map((r) => sessionOf(org, r));
    // tRPC takes API keys too: the narrowest and the widest scope show they are bounded there as well
    if (surface === 'trpc') return [...sessions, await keyOf(org, ['read']), await keyOf(org, ['admin']), anonymous];
    const keys = await Promise.all(apiKeyScopes.map((s) => keyOf(org, [s])));
    return surface === 'rest' ? [...sessions, ...keys, anonymous] : [...keys, anonymous];
  }

  for (const c of routeCases) {
    test(c.route, async () => {
      const surface = surfaceOf(c.route);
      const labels = (await principals(surface, a)).map((p) => p.label);
      await eachLabel(labels, async (label) => {
        // a fresh organization per request where the route reshapes the organization or the membership
        const org = c.freshOrg ? await makeOrg('roles') : a;
        const who = (await principals(surface, org)).find((p) => p.label === label)!;
        const o = await invoke(c.route, await c.prepare(org, who), who);
        const allowed = expectedAllowed(c.access, who);
        try {
          if (allowed) (c.allowed ?? assertOk)(o, who);
          else if (who.kind === 'anonymous' || (c.access === 'signed-in' && who.kind === 'key')) assertUnauthenticated(surface, o);
          else assertForbidden(surface, o, who, c.access);
        } catch (e) {
          throw new Error(`(${allowed ? 'allowed' : 'refused'}) ${(e as Error).message}`);
        }
      });
    });
  }
});
