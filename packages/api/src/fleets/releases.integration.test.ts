import '../testing/env';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { BaseFetcher, Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import type { z } from 'zod';
import { db, schema } from '@edgetune/db';
import { uploadFile } from '../datasets/files';
import { listAudit } from '../identity/audit';
import { deleteOrg } from '../identity/orgs';
import { createApiKey } from '../identity/api-keys';
import { handleRest } from '../rest/handler';
import { releaseSchema } from '../rest/schemas';
import { bytes, goodJsonl, newOrg, seedPublishedModel, useDatabase } from '../testing/fixtures';
import { advanceDueRollouts } from './releases';
import { timestampFor } from './tuf';

useDatabase();

const base = 'http://edgetune.test/api/v1';
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const call = async (p: string, token: string, method = 'GET', body?: unknown) => {
  const res = await handleRest(new Request(base + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }), { sessionUserId: null });
  return { status: res.status, body: (await res.json()) as Body };
};
const conforms = (s: z.ZodType, body: unknown) => assert.deepEqual(s.parse(body), body);

/** tuf-js's standard client, fetching through the platform's handler with a device token; `tamper` plays a man in the middle. */
class Fetcher extends BaseFetcher {
  tamper: ((url: string, body: Buffer) => Buffer) | null = null;
  constructor(private readonly token: string) {
    super();
  }
  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const res = await handleRest(new Request(url, { headers: { authorization: `Bearer ${this.token}` } }), { sessionUserId: null });
    if (!res.ok) throw new DownloadHTTPError(`${url}: ${res.status}`, res.status);
    let body: Buffer = Buffer.from(await res.arrayBuffer());
    if (this.tamper) body = this.tamper(url, body);
    return new Response(new Uint8Array(body)).body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

async function world() {
  const org = await newOrg('release');
  const admin = (await createApiKey(org.caller, { name: 'fleet admin', scopes: ['admin'] })).key;
  const file = await uploadFile(org.caller, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
  const modelA = await seedPublishedModel(org.orgId, file.id, Buffer.from('GGUF model A ' + 'a'.repeat(3000)));
  const modelB = await seedPublishedModel(org.orgId, file.id, Buffer.from('GGUF model B ' + 'b'.repeat(4000)));
  const fleet = (await call('/fleets', admin, 'POST', { name: 'cars' })).body;
  const enroll = async (name: string, channel = 'stable') => {
    const r = await call(`/fleets/${fleet.id}/devices`, fleet.enrollment_token, 'POST', { name, profile: 'x86_64-avx2', fingerprint: {}, channel });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { device_id: string; device_token: string; rollout_bucket: number };
  };
  return { org, admin, modelA, modelB, fleet, enroll };
}

function tufClient(fleetId: string, token: string, root: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tuf-client-'));
  writeFileSync(path.join(dir, 'root.json'), root);
  const fetcher = new Fetcher(token);
  const tuf = `${base}/fleets/${fleetId}/tuf`;
  const updater = () => new Updater({ metadataDir: dir, metadataBaseUrl: tuf, targetBaseUrl: `${tuf}/targets`, fetcher });
  return { dir, fetcher, updater };
}

test('a release reaches the devices of its rollout buckets as TUF metadata that tuf-js verifies; versions only rise', async () => {
  const w = await world();
  const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => w.enroll(`car-${i}`)));
  const created = await call(`/fleets/${w.fleet.id}/releases`, w.admin, 'POST', { model: w.modelA.name, rollout_percent: 50 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  conforms(releaseSchema, created.body);
  const r1 = created.body;
  assert.deepEqual(r1.steps, [50, 100]);
  assert.equal(r1.seq, 1);
  assert.equal(r1.state, 'rolling');
  assert.deepEqual(r1.targets.map((t: Body) => [t.profile, t.sha256]), [['x86_64-avx2', w.modelA.sha256]]);
  assert.equal(r1.step_stats[0].devices, devices.filter((d) => d.rollout_bucket < 50).length);

  const inside = devices.find((d) => d.rollout_bucket < 50)!;
  const outside = devices.find((d) => d.rollout_bucket >= 50)!;
  assert.ok(inside && outside, 'twelve random buckets fall on both sides of 50');
  const out = await call(`/fleets/${w.fleet.id}/tuf/timestamp.json`, outside.device_token);
  assert.equal(out.status, 404, 'a device outside the step is served nothing yet');

  const root = await handleRest(new Request(`${base}/fleets/${w.fleet.id}/tuf/1.root.json`, { headers: { authorization: `Bearer ${inside.device_token}` } }), { sessionUserId: null });
  assert.equal(root.status, 200);
  const rootText = await root.text();
  const c = tufClient(w.fleet.id, inside.device_token, rootText);
  const u = c.updater();
  await u.refresh();
  const target = await u.getTargetInfo('x86_64-avx2/model.gguf');
  assert.ok(target);
  assert.equal(target.length, w.modelA.content.length);
  assert.equal(target.hashes.sha256, w.modelA.sha256);
  assert.equal((target.custom as Body).release_id, r1.id);
  assert.equal((target.custom as Body).model, w.modelA.name);
  assert.equal((target.custom as Body).quantization, 'Q8_0');
  assert.ok(Number((target.custom as Body).metrics.decode_tokens_per_second) > 0);
  assert.equal((target.custom as Body).metrics.task_accuracy, '0.5', 'fractions travel as decimal strings (canonical JSON has integers only)');
  const saved = path.join(c.dir, 'model.gguf');
  await u.downloadTarget(target, saved);

  // Files: the release's own, by consistent-snapshot path, with ranges; nothing else.
  const file = `/fleets/${w.fleet.id}/tuf/targets/x86_64-avx2/${w.modelA.sha256}.model.gguf`;
  const part = await handleRest(new Request(base + file, { headers: { authorization: `Bearer ${inside.device_token}`, range: 'bytes=5-9' } }), { sessionUserId: null });
  assert.equal(part.status, 206);
  assert.equal(await part.text(), w.modelA.content.subarray(5, 10).toString());
  assert.equal((await call(`/fleets/${w.fleet.id}/tuf/targets/x86_64-avx2/${w.modelB.sha256}.model.gguf`, inside.device_token)).status, 404);
  assert.equal((await call(`/fleets/${w.fleet.id}/tuf/targets/arm64-automotive/${w.modelA.sha256}.model.gguf`, inside.device_token)).status, 404);
  assert.equal((await call(`/fleets/${w.fleet.id}/tuf/2.targets.json`, inside.device_token)).status, 404, 'only the release it is served');
  assert.equal((await call(`/fleets/${w.fleet.id}/tuf/1.targets.json`, w.fleet.enrollment_token)).status, 403, 'metadata takes a device token');
  assert.equal((await call(`/fleets/${w.fleet.id}/tuf/1.targets.json`, w.admin)).status, 401, 'an API key is no device token');

  // An unchanged timestamp costs a 304.
  const ts = await handleRest(new Request(`${base}/fleets/${w.fleet.id}/tuf/timestamp.json`, { headers: { authorization: `Bearer ${inside.device_token}` } }), { sessionUserId: null });
  const etag = ts.headers.get('etag')!;
  const again = await handleRest(new Request(`${base}/fleets/${w.fleet.id}/tuf/timestamp.json`, { headers: { authorization: `Bearer ${inside.device_token}`, 'if-none-match': etag } }), { sessionUserId: null });
  assert.equal(again.status, 304);

  // Release 2 (model B) at 100 %, by a key with the `fleet` scope (a `read` key may not):
  // every device moves on, to higher versions.
  const fleetKey = (await createApiKey(w.org.caller, { name: 'rollouts', scopes: ['fleet'] })).key;
  const readKey = (await createApiKey(w.org.caller, { name: 'reader', scopes: ['read'] })).key;
  assert.equal((await call(`/fleets/${w.fleet.id}/releases`, readKey, 'POST', { model: w.modelB.name })).status, 403);
  const r2 = (await call(`/fleets/${w.fleet.id}/releases`, fleetKey, 'POST', { model: w.modelB.name, rollout_percent: 100 })).body;
  assert.equal(r2.seq, 2);
  assert.equal(r2.state, 'complete');
  assert.equal((await call(`/fleets/${w.fleet.id}/releases/${r1.id}`, w.admin)).body.state, 'superseded');
  const u2 = c.updater();
  await u2.refresh();
  assert.equal((await u2.getTargetInfo('x86_64-avx2/model.gguf'))!.hashes.sha256, w.modelB.sha256);

  // Replaying release 1's metadata to a device that has seen release 2 is refused.
  const old = await timestampFor({ id: r1.id, fleetId: w.fleet.id, seq: 1, snapshotBody: (await db().select().from(schema.fleetReleases).where(eq(schema.fleetReleases.id, r1.id)))[0].snapshotBody });
  c.fetcher.tamper = (url, body) => (url.endsWith('/timestamp.json') ? Buffer.from(old.body) : body);
  await assert.rejects(c.updater().refresh(), /version/i, 'an older timestamp is a rollback attack');

  // A timestamp that expired (a freeze attack) is refused.
  const stale = await timestampFor({ id: r2.id, fleetId: w.fleet.id, seq: 2, snapshotBody: (await db().select().from(schema.fleetReleases).where(eq(schema.fleetReleases.id, r2.id)))[0].snapshotBody }, Date.now() - 3 * 86_400_000);
  const fresh = tufClient(w.fleet.id, inside.device_token, rootText);
  fresh.fetcher.tamper = (url, body) => (url.endsWith('/timestamp.json') ? Buffer.from(stale.body) : body);
  await assert.rejects(fresh.updater().refresh(), /expired/i);

  // A tampered targets file (one byte of a length) fails its signature.
  const tampered = tufClient(w.fleet.id, inside.device_token, rootText);
  tampered.fetcher.tamper = (url, body) => (url.endsWith('.targets.json') ? Buffer.from(body.toString().replace(`"length":${w.modelB.content.length}`, `"length":${w.modelB.content.length + 1}`)) : body);
  await assert.rejects(tampered.updater().refresh(), /targets was signed by 0\/1 keys/);
});

test('rollouts advance after a soak, halt on failures, pause, resume, and roll back by a new higher release', async () => {
  const w = await world();
  const devices = await Promise.all(Array.from({ length: 30 }, (_, i) => w.enroll(`truck-${i}`)));
  const r1 = (await call(`/fleets/${w.fleet.id}/releases`, w.admin, 'POST', { model: w.modelA.name, rollout_percent: 100 })).body;
  const r2 = (await call(`/fleets/${w.fleet.id}/releases`, w.admin, 'POST', { model: w.modelB.name, steps: [20, 60, 100], soak_minutes: 30, failure_threshold: 0.25, min_reports: 2 })).body;
  assert.equal(r2.rollout_percent, 20);
  const report = (d: { device_id: string; device_token: string }, status: 'installed' | 'failed', release = r2.id) =>
    call(`/fleets/${w.fleet.id}/devices/${d.device_id}/check-in`, d.device_token, 'POST', { health: status === 'failed' ? 'degraded' : 'ok', installed_version: w.modelB.name, update: { release_id: release, status, error: status === 'failed' ? 'smoke test: no output' : null, smoke_latency_ms: 120 } });

  // Not yet soaked: nothing moves.
  assert.equal(await advanceDueRollouts(), 0);
  const step1 = devices.filter((d) => d.rollout_bucket < 20);
  for (const d of step1) assert.equal((await report(d, 'installed')).status, 200);
  const soon = new Date(Date.now() + 31 * 60_000);
  if (step1.length) assert.ok((await advanceDueRollouts(soon)) >= 1);
  else assert.ok((await advanceDueRollouts(soon)) >= 1, 'an empty step advances after its soak');
  let now = (await call(`/fleets/${w.fleet.id}/releases/${r2.id}`, w.admin)).body;
  assert.equal(now.rollout_percent, 60);
  assert.equal(now.step_stats[0].reports, step1.length);

  // Step 2 fails: two failures of two reports halt it at once.
  const step2 = devices.filter((d) => d.rollout_bucket >= 20 && d.rollout_bucket < 60);
  assert.ok(step2.length >= 2, 'thirty random buckets put at least two devices in 20-59');
  assert.equal((await report(step2[0], 'failed')).status, 200);
  assert.equal((await report(step2[1], 'failed')).status, 200);
  now = (await call(`/fleets/${w.fleet.id}/releases/${r2.id}`, w.admin)).body;
  assert.equal(now.state, 'halted', JSON.stringify(now));
  assert.match(now.state_reason, /2 of 2 devices failed/);
  assert.equal((await call(`/fleets/${w.fleet.id}/releases/${r2.id}/advance`, w.admin, 'POST')).status, 409, 'a halted rollout does not advance');
  assert.equal(await advanceDueRollouts(new Date(Date.now() + 999 * 60_000)), 0);
  // Repeating a report in later check-ins is not counted again.
  assert.equal((await report(step2[0], 'failed')).status, 200);
  assert.equal((await call(`/fleets/${w.fleet.id}/releases/${r2.id}`, w.admin)).body.step_stats[1].reports, 2);

  // Resume, pause, and then roll back: release 3 of model A, to everyone, at a higher version.
  assert.equal((await call(`/fleets/${w.fleet.id}/releases/${r2.id}/resume`, w.admin, 'POST')).body.state, 'rolling');
  assert.equal((await call(`/fleets/${w.fleet.id}/releases/${r2.id}/pause`, w.admin, 'POST')).body.state, 'paused');
  const rb = await call(`/fleets/${w.fleet.id}/releases/${r2.id}/rollback`, w.admin, 'POST');
  assert.equal(rb.status, 201, JSON.stringify(rb.body));
  assert.equal(rb.body.seq, 3);
  assert.equal(rb.body.model, w.modelA.name);
  assert.equal(rb.body.rollback_of, r2.id);
  assert.equal(rb.body.rollout_percent, 100);
  assert.equal((await call(`/fleets/${w.fleet.id}/releases/${r2.id}`, w.admin)).body.state, 'rolled_back');
  const anyDevice = devices[0];
  const targets = await call(`/fleets/${w.fleet.id}/tuf/3.targets.json`, anyDevice.device_token);
  assert.equal(targets.status, 200);
  assert.equal(targets.body.signed.version, 3);
  assert.equal(Object.values(targets.body.signed.targets as Record<string, Body>)[0].hashes.sha256, w.modelA.sha256);
  const older = await call(`/fleets/${w.fleet.id}/releases/${r1.id}/rollback`, w.admin, 'POST');
  assert.equal(older.status, 409, 'only the newest release of a channel rolls back');
  assert.match(older.body.error.message, /roll back release 3 instead/);

  const list = (await call(`/fleets/${w.fleet.id}/releases`, w.admin)).body;
  assert.deepEqual(list.data.map((r: Body) => r.seq), [3, 2, 1]);
  const actions = (await listAudit(w.org.caller, { limit: 100 })).data.map((e) => e.action);
  for (const a of ['fleet.release_created', 'fleet.release_advanced', 'fleet.release_halted', 'fleet.release_resumed', 'fleet.release_paused', 'fleet.release_rolled_back']) {
    assert.ok(actions.includes(a as never), `audit log has ${a}`);
  }

  // Bad input names its field.
  const bad = await call(`/fleets/${w.fleet.id}/releases`, w.admin, 'POST', { model: w.modelA.name, steps: [50, 20] });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /steps must increase/);
  const unknown = await call(`/fleets/${w.fleet.id}/releases`, w.admin, 'POST', { model: 'ft:nope' });
  assert.equal(unknown.status, 404);
  const wrongRelease = await call(`/fleets/${w.fleet.id}/devices/${anyDevice.device_id}/check-in`, anyDevice.device_token, 'POST', { health: 'ok', update: { release_id: 'rel_nope', status: 'installed' } });
  assert.equal(wrongRelease.status, 400);
  assert.equal(wrongRelease.body.error.param, 'update.release_id');
});

test("root key rotation: tuf-js follows root 2 signed by the old and the new key; another organization sees no fleet", async () => {
  const w = await world();
  const d = await w.enroll('van-1');
  await call(`/fleets/${w.fleet.id}/releases`, w.admin, 'POST', { model: w.modelA.name, rollout_percent: 100 });
  const root1 = await (await handleRest(new Request(`${base}/fleets/${w.fleet.id}/tuf/1.root.json`, { headers: { authorization: `Bearer ${d.device_token}` } }), { sessionUserId: null })).text();
  const c = tufClient(w.fleet.id, d.device_token, root1);
  await c.updater().refresh();

  const rotated = await call(`/fleets/${w.fleet.id}/root/rotate`, w.admin, 'POST');
  assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
  assert.equal(rotated.body.version, 2);
  const root2 = (await call(`/fleets/${w.fleet.id}/tuf/2.root.json`, d.device_token)).body;
  assert.equal(Object.keys(root2.signatures).length, 2, 'signed by the old root key and the new one');
  const u = c.updater();
  await u.refresh();
  assert.ok(await u.getTargetInfo('x86_64-avx2/model.gguf'));

  // A root 2 signed by the new key alone is refused by a device that trusts root 1.
  const forged = { ...root2, signatures: root2.signatures.filter((s: Body) => s.keyid === rotated.body.key_id) };
  const fresh = tufClient(w.fleet.id, d.device_token, root1);
  fresh.fetcher.tamper = (url, body) => (url.endsWith('/2.root.json') ? Buffer.from(JSON.stringify(forged)) : body);
  await assert.rejects(fresh.updater().refresh(), /root was signed by 0\/1 keys/);

  // Two rotations at once: each succeeds or is told to try again, never a 500.
  const racing = await Promise.all([1, 2].map(() => call(`/fleets/${w.fleet.id}/root/rotate`, w.admin, 'POST')));
  assert.ok(racing.every((r) => r.status === 201 || r.status === 409), JSON.stringify(racing));
  assert.ok(racing.some((r) => r.status === 201));
  const rotations = 1 + racing.filter((r) => r.status === 201).length;

  // Private keys are stored encrypted.
  const keys = await db().select().from(schema.fleetTufKeys).where(eq(schema.fleetTufKeys.fleetId, w.fleet.id));
  assert.equal(keys.length, 4 + rotations, 'four role keys, and one more root key per rotation');
  for (const k of keys) assert.match(k.privateRef, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);

  // Tenancy: another organization's key, and another fleet's tokens, find nothing.
  const other = await newOrg('release-other');
  const otherKey = (await createApiKey(other.caller, { name: 'k', scopes: ['admin'] })).key;
  assert.equal((await call(`/fleets/${w.fleet.id}/releases`, otherKey)).status, 404);
  assert.equal((await call(`/fleets/${w.fleet.id}/root/rotate`, otherKey, 'POST')).status, 404);
  const otherFleet = (await call('/fleets', otherKey, 'POST', { name: 'theirs' })).body;
  assert.equal((await call(`/fleets/${otherFleet.id}/tuf/timestamp.json`, d.device_token)).status, 404);
  assert.equal((await call(`/fleets/${w.fleet.id}/devices`, otherFleet.enrollment_token, 'POST', { name: 'x', profile: 'x86_64-avx2', fingerprint: {} })).status, 404);
  await call(`/fleets/${w.fleet.id}/devices/${d.device_id}/revoke`, w.admin, 'POST');
  assert.equal((await call(`/fleets/${w.fleet.id}/tuf/timestamp.json`, d.device_token)).status, 401, 'a revoked device reads nothing');

  // An organization with releases can still be deleted: its releases, keys and roots go with it.
  const [org] = await db().select().from(schema.orgs).where(eq(schema.orgs.id, w.org.orgId));
  await deleteOrg(w.org.caller, org.name);
  assert.equal((await db().select().from(schema.fleetReleases).where(eq(schema.fleetReleases.orgId, w.org.orgId))).length, 0);
  assert.equal((await db().select().from(schema.fleetTufKeys).where(eq(schema.fleetTufKeys.orgId, w.org.orgId))).length, 0);
});
