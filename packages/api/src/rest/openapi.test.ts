import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeTemplate } from '../testing/access-matrix';
import { routes } from './handler';
import { agentRoutes, storageRoutes } from './pools';
import { deviceRoutes } from './fleets';
import { openApiDocument } from './openapi';

type Operation = { operationId?: string; parameters?: Array<{ in: string; name: string; required?: boolean }>; responses: Record<string, unknown> };
const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, unknown>> };
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** `GET /files/{}` for every documented operation (parameter names dropped, as routeTemplate does). */
function documented(): string[] {
  return Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.keys(item)
      .filter((m) => methods.includes(m))
      .map((m) => `${m.toUpperCase()} ${p.replace(/\{[^}]+\}/g, '{}')}`),
  );
}

test('OpenAPI: every REST route is documented, and every documented operation is a route', () => {
  assert.equal(doc.openapi, '3.1.0');
  const ops = new Set(documented());
  // HEAD answers what GET does, without the body; OpenAPI describes it through the GET.
  const served = new Set([...routes, ...agentRoutes, ...storageRoutes, ...deviceRoutes].map((r) => routeTemplate(r)).map((t) => t.replace(/^HEAD /, 'GET ')));
  for (const r of served) assert.ok(ops.has(r), `undocumented route: ${r}`);
  for (const o of ops) assert.ok(served.has(o), `documented operation without a route: ${o}`);
  assert.equal(ops.size, served.size);
});

test('OpenAPI: operations have unique ids, their path parameters, and the error responses', () => {
  const ids = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(item)) {
      if (!methods.includes(m)) continue;
      assert.ok(op.operationId && !ids.has(op.operationId), `${m} ${p}: operationId missing or repeated`);
      ids.add(op.operationId);
      const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]).sort();
      const params = (op.parameters ?? []).filter((x) => x.in === 'path');
      assert.deepEqual(params.map((x) => x.name).sort(), inPath, `${m} ${p}: path parameters`);
      assert.ok(params.every((x) => x.required), `${m} ${p}: path parameters are required`);
      for (const status of ['400', '401', '403', '404', '429']) assert.ok(op.responses[status], `${m} ${p}: documents ${status}`);
    }
  }
});

test('OpenAPI: every $ref resolves, and the error response is the platform error shape', () => {
  const text = JSON.stringify(doc);
  for (const [, kind, name] of text.matchAll(/"#\/components\/(\w+)\/([^"]+)"/g)) {
    assert.ok(doc.components[kind]?.[name], `dangling $ref #/components/${kind}/${name}`);
  }
  const error = doc.components.schemas.Error as { properties: { error: { properties: Record<string, unknown>; required: string[] } } };
  assert.deepEqual(error.properties.error.required.sort(), ['code', 'details', 'message', 'param']);
  assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', description: 'An API key (et_…) or the portal session cookie' });
});

test('OpenAPI: every schema is 3.1 (no tuple-style array `items`, which 3.0 tools wrote and 3.1 refuses)', () => {
  const bad: string[] = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}/${i}`));
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'items' && Array.isArray(x)) bad.push(at);
      walk(x, `${at}/${k}`);
    }
  };
  walk(doc, '#');
  assert.deepEqual(bad, []);
});
