import '../testing/env';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { uploadFile } from '../datasets/files';
import { createApiKey } from '../identity/api-keys';
import { checkInStats } from './check-in-writer';
import { isListening, listening, stopListening } from '../notifications';
import { handleRest } from '../rest/handler';
import { bytes, goodJsonl, newOrg, seedPublishedModel, useDatabase } from '../testing/fixtures';

useDatabase();
after(() => stopListening());

const base = 'http://edgetune.test/api/v1';
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const call = async (p: string, token: string, method = 'GET', body?: unknown) => {
  const res = await handleRest(new Request(base + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }), { sessionUserId: null });
  return { status: res.status, body: (await res.json().catch(() => null)) as Body };
};

async function fleetWithRelease(tag: string) {
  const org = await newOrg(tag);
  const admin = (await createApiKey(org.caller, { name: 'fleet admin', scopes: ['admin'] })).key;
  const file = await uploadFile(org.caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const model = await seedPublishedModel(org.orgId, file.id, Buffer.from('GGUF model ' + 'a'.repeat(2000)));
  const fleet = (await call('/fleets', admin, 'POST', { name: 'cars' })).body;
  const device = (await call(`/fleets/${fleet.id}/devices`, fleet.enrollment_token, 'POST', { name: 'car', profile: 'x86_64-avx2', fingerprint: {} })).body;
  const release = await call(`/fleets/${fleet.id}/releases`, admin, 'POST', { model: model.name, rollout_percent: 100 });
  assert.equal(release.status, 201, JSON.stringify(release.body));
  const timestamp = () => call(`/fleets/${fleet.id}/tuf/timestamp.json`, device.device_token);
  return { fleet, device, release: release.body, timestamp };
}

/** Polls until `check` holds; how long it took. */
async function until(what: string, check: () => Promise<boolean>, ms = 3000): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

// Writes below go straight to the database, as another process would (the rollout keeper, another
// web server, an operator): this process hears of them only through the triggers' notifications.

test('a change written by another process reaches the cached token and release lookups within moments', async () => {
  const w = await fleetWithRelease('cache');
  assert.equal(await listening(), true);
  const first = await w.timestamp();
  assert.equal(first.status, 200);
  assert.equal((await w.timestamp()).status, 200);

  // The release is taken back to 0 %: the device is served nothing.
  await db().update(schema.fleetReleases).set({ percent: 0 }).where(eq(schema.fleetReleases.id, w.release.id));
  const ms = await until('the release change is seen', async () => (await w.timestamp()).status === 404);
  assert.ok(ms < 1000, `seen after ${ms.toFixed(0)} ms`);
  await db().update(schema.fleetReleases).set({ percent: 100 }).where(eq(schema.fleetReleases.id, w.release.id));
  await until('the release is served again', async () => (await w.timestamp()).status === 200);

  // The device is revoked: its token is refused.
  await db().update(schema.fleetDevices).set({ revokedAt: new Date() }).where(eq(schema.fleetDevices.id, w.device.device_id));
  await until('the revoked token is refused', async () => (await w.timestamp()).status === 401);

  // The fleet's enrollment token is replaced: the old one no longer enrolls.
  const enroll = (name: string) => call(`/fleets/${w.fleet.id}/devices`, w.fleet.enrollment_token, 'POST', { name, profile: 'x86_64-avx2', fingerprint: {} });
  assert.equal((await enroll('second')).status, 201);
  await db().update(schema.fleets).set({ tokenHash: 'replaced' }).where(eq(schema.fleets.id, w.fleet.id));
  await until('the replaced enrollment token is refused', async () => (await enroll(`n${Math.random()}`)).status === 401);
});

test('while the notification connection is down nothing is served from the cache', async () => {
  const w = await fleetWithRelease('cache-down');
  assert.equal(await listening(), true);
  assert.equal((await w.timestamp()).status, 200);
  await db().execute(sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${`edgetune-listen-${process.pid}`}`);
  await until('the loss is noticed', async () => !isListening());
  // Nobody hears this change; a device must still see it at once.
  await db().update(schema.fleetReleases).set({ percent: 0 }).where(eq(schema.fleetReleases.id, w.release.id));
  assert.equal((await w.timestamp()).status, 404);
  await db().update(schema.fleetReleases).set({ percent: 100 }).where(eq(schema.fleetReleases.id, w.release.id));
  assert.equal((await w.timestamp()).status, 200);
  // Back up (tried again a second after the loss), entries are kept and dropped as before.
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await w.timestamp()).status, 200);
  await until('listening again', async () => isListening());
  assert.equal((await w.timestamp()).status, 200);
  await db().update(schema.fleetDevices).set({ revokedAt: new Date() }).where(eq(schema.fleetDevices.id, w.device.device_id));
  await until('the revoked token is refused', async () => (await w.timestamp()).status === 401);
});

test('check-ins arriving together are written together, each answered with its own device, none lost', async () => {
  const w = await fleetWithRelease('batch');
  const devices = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => (await call(`/fleets/${w.fleet.id}/devices`, w.fleet.enrollment_token, 'POST', { name: `d${i}`, profile: 'x86_64-avx2', fingerprint: {} })).body),
  );
  const checkIn = (d: Body, body: unknown) => call(`/fleets/${w.fleet.id}/devices/${d.device_id}/check-in`, d.device_token, 'POST', body);
  const before = { ...checkInStats };
  // Each device twice at once: a device's second check-in waits for the next batch.
  const answers = await Promise.all(devices.flatMap((d, i) => [checkIn(d, { health: 'degraded', last_error: `first ${i}` }), checkIn(d, { health: 'ok', installed_version: `v${i}` })]));
  for (const [k, a] of answers.entries()) {
    const i = Math.floor(k / 2);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.id, devices[i].device_id);
    // Each answer is the device as its own check-in left it.
    assert.deepEqual([a.body.health, a.body.installed_version, a.body.last_error], k % 2 ? ['ok', `v${i}`, null] : ['degraded', null, `first ${i}`]);
  }
  const batches = checkInStats.batches - before.batches;
  assert.equal(checkInStats.checkIns - before.checkIns, 40);
  assert.ok(batches >= 2 && batches < 40, `40 check-ins in ${batches} statements`);
  // Both were written, one after the other: the row holds all of one of them.
  const rows = await db().select().from(schema.fleetDevices).where(eq(schema.fleetDevices.fleetId, w.fleet.id));
  for (const [i, d] of devices.entries()) {
    const row = rows.find((r) => r.id === d.device_id)!;
    const state = [row.health, row.installedVersion, row.lastError];
    assert.ok(JSON.stringify(state) === JSON.stringify(['ok', `v${i}`, null]) || JSON.stringify(state) === JSON.stringify(['degraded', null, `first ${i}`]), JSON.stringify(state));
    assert.ok(row.lastCheckInAt);
  }

  // A report is counted once: the same report again is not new, another status is.
  const d = devices[0];
  const report = (status: string) => checkIn(d, { health: 'ok', update: { release_id: w.release.id, status, smoke_latency_ms: 12.5 } });
  const r1 = await report('installed');
  assert.equal(r1.body.update.status, 'installed');
  const at1 = r1.body.update.reported_at;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await report('installed')).body.update.reported_at, at1);
  const r3 = await report('failed');
  assert.equal(r3.body.update.status, 'failed');
  assert.notEqual(r3.body.update.reported_at, at1);
});
