/**
 * The reference device client against the running platform (BASE_URL), with a real GGUF model
 * (EDGETUNE_TEST_GGUF) and node-llama-cpp's real smoke inference: install, a tampered file, a
 * download cut mid-way, a model that fails its smoke test (local rollback, halted rollout), and
 * the client killed between writing and swapping.
 */
import { newOrg, seedPublishedModel, seedTrainingFile, useDatabase } from '@edgetune/api/testing';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiKeys } from '@edgetune/api';
import { storage } from '@edgetune/storage';
import { DeviceClient } from './client';

useDatabase();

const BASE_URL = process.env.BASE_URL;
const GGUF = process.env.EDGETUNE_TEST_GGUF;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('the device client installs, refuses tampering, resumes, rolls back a failing model and survives a kill', { skip: !BASE_URL || !GGUF ? 'needs BASE_URL and EDGETUNE_TEST_GGUF (npm test sets both)' : false, timeout: 600_000 }, async () => {
  const org = await newOrg('device-client');
  const key = (await apiKeys.createApiKey(org.caller, { name: 'fleet admin', scopes: ['admin'] })).key;
  const api = async (p: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${BASE_URL}/api/v1${p}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Body };
  };
  const file = await seedTrainingFile(org.caller);
  const gguf = readFileSync(GGUF!);
  const modelA = await seedPublishedModel(org.orgId, file.id, gguf);
  // The same weights with padding after the tensors: another file (another sha256) that loads.
  const modelB = await seedPublishedModel(org.orgId, file.id, Buffer.concat([gguf, Buffer.alloc(64 * 1024)]));
  const broken = await seedPublishedModel(org.orgId, file.id, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(1024, 7)]));
  const fleet = (await api('/fleets', 'POST', { name: 'vans' })).body;

  const dir = mkdtempSync(path.join(os.tmpdir(), 'device-client-'));
  const log: string[] = [];
  let client = await DeviceClient.open(dir, { url: BASE_URL!, fleetId: fleet.id, enrollmentToken: fleet.enrollment_token, name: 'van-1', profile: 'x86_64-avx2' }, { log: (m) => log.push(m) });
  const device = async () => (await api(`/fleets/${fleet.id}/devices`)).body.data.find((d: Body) => d.id === client.deviceId);
  assert.equal((await client.cycle()).kind, 'nothing-released');
  assert.equal((await device()).health, 'ok');

  // 1. A release of model A: verified, swapped in, smoke-tested with node-llama-cpp, reported.
  const r1 = (await api(`/fleets/${fleet.id}/releases`, 'POST', { model: modelA.name, rollout_percent: 100 })).body;
  const first = await client.cycle();
  assert.equal(first.kind, 'installed', JSON.stringify(first));
  assert.equal(client.runningModel, path.join(dir, 'models', `${modelA.sha256}.gguf`));
  let d = await device();
  assert.equal(d.update.release_id, r1.id);
  assert.equal(d.update.status, 'installed');
  assert.ok(d.update.smoke_latency_ms > 0);
  assert.equal(d.installed_version, modelA.name);
  assert.equal((await client.cycle()).kind, 'up-to-date');

  // 2. Model B's stored file is tampered with (same length): the client refuses it and keeps A.
  const r2 = (await api(`/fleets/${fleet.id}/releases`, 'POST', { model: modelB.name, rollout_percent: 100 })).body;
  const bKey = `orgs/${org.orgId}/models/${modelB.versionId}/${modelB.variantId}.gguf`;
  const bBytes = modelB.content;
  const evil = Buffer.from(bBytes);
  evil[evil.length - 10] ^= 0xff;
  await storage().put(bKey, evil);
  const refused = await client.cycle();
  assert.equal(refused.kind, 'failed');
  assert.match((refused as { error: string }).error, /failed verification/);
  assert.equal(client.runningModel, path.join(dir, 'models', `${modelA.sha256}.gguf`), 'the old model still runs');
  assert.equal((await device()).health, 'degraded');

  // 3. The file is right again, and a download cut at half way resumes from there.
  await storage().put(bKey, bBytes);
  const half = Math.floor(bBytes.length / 2);
  writeFileSync(path.join(dir, 'downloads', `${modelB.sha256}.part`), bBytes.subarray(0, half));
  const resumed = await client.cycle();
  assert.equal(resumed.kind, 'installed', JSON.stringify(resumed));
  assert.equal((resumed as { resumedFrom: number }).resumedFrom, half);
  assert.equal((resumed as { fetched: number }).fetched, bBytes.length - half);
  assert.equal(client.runningModel, path.join(dir, 'models', `${modelB.sha256}.gguf`));
  assert.equal((await device()).update.release_id, r2.id);

  // 4. A model that fails its smoke test: local rollback to B, a failure report, the rollout halts.
  const bucket = (await device()).rollout_bucket as number;
  const steps = bucket < 99 ? [bucket + 1, 100] : [100];
  const r3 = (await api(`/fleets/${fleet.id}/releases`, 'POST', { model: broken.name, steps, failure_threshold: 0, min_reports: 1 })).body;
  const bad = await client.cycle();
  assert.equal(bad.kind, 'failed');
  assert.match((bad as { error: string }).error, /smoke test/);
  assert.equal(client.runningModel, path.join(dir, 'models', `${modelB.sha256}.gguf`), 'rolled back locally');
  d = await device();
  assert.equal(d.update.release_id, r3.id);
  assert.equal(d.update.status, 'failed');
  if (steps.length > 1) assert.equal((await api(`/fleets/${fleet.id}/releases/${r3.id}`)).body.state, 'halted');
  assert.equal((await client.cycle()).kind, 'failed', 'a file that failed here is not installed again');

  // 5. Killed between writing and swapping, and between swapping and recording: on restart the
  //    device runs B (the last good model), never a half-installed one, and then installs A.
  const rb = await api(`/fleets/${fleet.id}/releases/${r3.id}/rollback`, 'POST');
  assert.equal(rb.status, 201);
  assert.equal((await client.cycle()).kind, 'up-to-date', 'the rollback release serves B, which runs already');
  const r5 = (await api(`/fleets/${fleet.id}/releases`, 'POST', { model: modelA.name, rollout_percent: 100 })).body;
  for (const point of ['kill-before-swap', 'kill-after-swap']) {
    const child = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'apps/device-client/src/cli.ts'), '--data-dir', dir, '--once'], {
      env: { ...process.env, EDGETUNE_DEVICE_CLIENT_FAULT: point },
      encoding: 'utf8',
      timeout: 120_000,
    });
    // tsx runs the client in a child node process and passes its death on as status 137.
    assert.ok(child.signal === 'SIGKILL' || child.status === 137, `${point}: ${child.status} ${child.signal} ${child.stdout}${child.stderr}`);
    client = await DeviceClient.open(dir, null);
    assert.equal(client.runningModel, path.join(dir, 'models', `${modelB.sha256}.gguf`), `${point}: B runs after the restart`);
    assert.equal(client.installed?.sha256, modelB.sha256);
  }
  const done = await client.cycle();
  assert.equal(done.kind, 'installed', JSON.stringify(done));
  assert.equal(client.runningModel, path.join(dir, 'models', `${modelA.sha256}.gguf`));
  assert.equal((await device()).update.release_id, r5.id);
});
