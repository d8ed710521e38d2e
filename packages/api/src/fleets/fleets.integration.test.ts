import '../testing/env';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { z } from 'zod';
import { listAudit } from '../identity/audit';
import { createApiKey } from '../identity/api-keys';
import { handleOpenAI } from '../openai/handler';
import { handleRest } from '../rest/handler';
import { checkInAnswerSchema, createdFleetSchema, enrolledDeviceSchema, fleetSchema } from '../rest/schemas';
import { newOrg, useDatabase } from '../testing/fixtures';

useDatabase();

const base = 'http://edgetune.test/api/v1';
const rest = (path: string, init: RequestInit = {}) => handleRest(new Request(base + path, init), { sessionUserId: null });
const call = async (path: string, token: string, method = 'GET', body?: unknown) => {
  const res = await rest(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
};
/** The answer is exactly what the OpenAPI document says (parsing strips any field it does not list). */
const conforms = (schema: z.ZodType, body: unknown) => assert.deepEqual(schema.parse(body), body);
const fingerprint = { cpuModel: 'Cortex-A78AE', cores: 8, arch: 'aarch64', os: 'Linux 5.15' };

test('a fleet: created with a token shown once; devices enroll, check in and show up by profile and version', async () => {
  const { caller } = await newOrg('fleet');
  const admin = (await createApiKey(caller, { name: 'fleet admin', scopes: ['admin'] })).key;
  const fleetKey = (await createApiKey(caller, { name: 'fleet key', scopes: ['fleet'] })).key;
  const reader = (await createApiKey(caller, { name: 'reader', scopes: ['read'] })).key;

  const refused = await call('/fleets', reader, 'POST', { name: 'cars-eu' });
  assert.equal(refused.status, 403);
  const created = await call('/fleets', admin, 'POST', { name: 'cars-eu' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  conforms(createdFleetSchema, created.body);
  const fleet = created.body;
  assert.match(fleet.enrollment_token, /^etf_[A-Za-z0-9]{40}$/);
  assert.equal((await call(`/fleets/${fleet.id}`, reader)).body.enrollment_token, undefined, 'shown only once');
  assert.equal((await call('/fleets', admin, 'POST', { name: 'cars-eu' })).status, 409);

  const enroll = (name: string, token = fleet.enrollment_token, fleetId = fleet.id, profile = 'arm64-automotive') =>
    call(`/fleets/${fleetId}/devices`, token, 'POST', { name, profile, fingerprint });
  const one = await enroll('VIN-0001');
  assert.equal(one.status, 201, JSON.stringify(one.body));
  conforms(enrolledDeviceSchema, one.body);
  assert.match(one.body.device_token, /^etd_[A-Za-z0-9]{40}$/);
  assert.equal(one.body.check_in_seconds, 60);
  const two = await enroll('VIN-0002');
  assert.equal((await enroll('VIN-0001')).status, 409, 'a name enrolls once');
  const badProfile = await enroll('VIN-0003', fleet.enrollment_token, fleet.id, 'toaster-9000');
  assert.equal(badProfile.status, 400);
  assert.equal(badProfile.body.error.param, 'profile');

  const checkIn = (device: Record<string, string>, body: unknown) => call(`/fleets/${fleet.id}/devices/${device.device_id}/check-in`, device.device_token, 'POST', body);
  const ok = await checkIn(one.body, { installed_version: 'ft:lfm2-350m:acme::ab12@3', health: 'ok' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  conforms(checkInAnswerSchema, ok.body);
  assert.equal(ok.body.online, true);
  assert.equal((await checkIn(two.body, { installed_version: null, health: 'failed', last_error: 'smoke test: no output' })).status, 200);
  const badHealth = await checkIn(one.body, { health: 'great' });
  assert.equal(badHealth.status, 400);
  assert.equal(badHealth.body.error.param, 'health');

  const view = await call(`/fleets/${fleet.id}`, fleetKey);
  conforms(fleetSchema, view.body);
  assert.deepEqual(view.body.devices, { total: 2, online: 2, revoked: 0, failing: 1 });
  assert.deepEqual(
    view.body.versions.map((v: Record<string, unknown>) => [v.profile, v.installed_version, v.devices]),
    [['arm64-automotive', 'ft:lfm2-350m:acme::ab12@3', 1], ['arm64-automotive', null, 1]],
  );
  const devices = await call(`/fleets/${fleet.id}/devices`, reader);
  assert.deepEqual(devices.body.data.map((d: Record<string, unknown>) => [d.name, d.health, d.last_error]), [['VIN-0001', 'ok', null], ['VIN-0002', 'failed', 'smoke test: no output']]);

  // A device token is for its own device and fleet only, and is no API key anywhere else.
  assert.equal((await call(`/fleets/${fleet.id}/devices/${two.body.device_id}/check-in`, one.body.device_token, 'POST', { health: 'ok' })).status, 404);
  assert.equal((await enroll('VIN-0009', one.body.device_token)).status, 403, 'a device token does not enroll');
  assert.equal((await call('/files', one.body.device_token)).status, 401);
  assert.equal((await call(`/fleets/${fleet.id}`, one.body.device_token)).status, 401);
  assert.equal((await call(`/fleets/${fleet.id}/devices`, fleet.enrollment_token)).status, 401, 'an enrollment token lists nothing');
  const v1 = await handleOpenAI(new Request('http://edgetune.test/v1/models', { headers: { authorization: `Bearer ${one.body.device_token}` } }));
  assert.equal(v1.status, 401);

  // Revoked: refused at once; rotated: the old enrollment token no longer enrolls, devices keep working.
  assert.equal((await call(`/fleets/${fleet.id}/devices/${two.body.device_id}/revoke`, admin, 'POST')).status, 200);
  assert.equal((await checkIn(two.body, { health: 'ok' })).status, 401);
  const rotated = await call(`/fleets/${fleet.id}/token`, admin, 'POST');
  assert.equal(rotated.status, 200);
  assert.equal((await enroll('VIN-0004')).status, 401);
  assert.equal((await enroll('VIN-0004', rotated.body.enrollment_token)).status, 201);
  assert.equal((await checkIn(one.body, { health: 'ok', installed_version: 'ft:lfm2-350m:acme::ab12@3' })).status, 200);

  const audit = (await listAudit(caller, { action: ['fleet.created', 'fleet.token_rotated', 'fleet.device_revoked'], limit: 10 })).data.map((e) => e.action);
  assert.deepEqual(audit.sort(), ['fleet.created', 'fleet.device_revoked', 'fleet.token_rotated']);
});

test("to another organization and to another fleet's tokens a fleet does not exist", async () => {
  const a = await newOrg('fleeta');
  const b = await newOrg('fleetb');
  const aKey = (await createApiKey(a.caller, { name: 'a', scopes: ['admin'] })).key;
  const bKey = (await createApiKey(b.caller, { name: 'b', scopes: ['admin'] })).key;
  const fa = (await call('/fleets', aKey, 'POST', { name: 'phones' })).body;
  const fb = (await call('/fleets', bKey, 'POST', { name: 'phones' })).body;
  for (const [method, path] of [['GET', `/fleets/${fa.id}`], ['GET', `/fleets/${fa.id}/devices`], ['DELETE', `/fleets/${fa.id}`], ['POST', `/fleets/${fa.id}/token`]] as const) {
    assert.equal((await call(path, bKey, method)).status, 404, `${method} ${path}`);
  }
  assert.ok(!(await call('/fleets', bKey)).body.data.some((f: { id: string }) => f.id === fa.id));
  // B's enrollment token against A's fleet.
  const cross = await call(`/fleets/${fa.id}/devices`, fb.enrollment_token, 'POST', { name: 'x', profile: 'arm64-phone', fingerprint: {} });
  assert.equal(cross.status, 404);
  assert.equal((await call(`/fleets/${fa.id}/devices`, 'etf_' + 'A'.repeat(40), 'POST', { name: 'x', profile: 'arm64-phone', fingerprint: {} })).status, 401);
  assert.equal((await call(`/fleets/${fa.id}`, aKey, 'DELETE')).status, 200);
  assert.equal((await call(`/fleets/${fa.id}/devices`, fa.enrollment_token, 'POST', { name: 'x', profile: 'arm64-phone', fingerprint: {} })).status, 401, "a deleted fleet's token is refused");
});
