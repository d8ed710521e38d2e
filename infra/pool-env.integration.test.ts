/**
 * Pool workers hold no platform secrets: the trainer and the device agents of the running test
 * stack (found by their command line and this stack's DATA_DIR) have no database URL, auth
 * secret or signing key in their environment, and no object store location or keys either (they
 * reach each job's objects with its grant, through PLATFORM_URL), while the web app has them all.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PLATFORM_SECRETS } from '@edgetune/config';
import { STORE_SETTINGS } from './stack';

interface Proc {
  pid: number;
  cmdline: string;
  env: Map<string, string>;
  cwd: string;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      const env = new Map(
        readFileSync(`/proc/${d}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
      );
      out.push({ pid: Number(d), cmdline, env, cwd: readlinkSync(`/proc/${d}/cwd`) });
    } catch {
      // the process ended, or is not ours to read
    }
  }
  return out;
}

test("the stack's trainer and device agents run without platform secrets or store keys; the web app has them", () => {
  const dataDir = process.env.DATA_DIR;
  assert.ok(dataDir, 'the harness sets DATA_DIR');
  // The second platform pool runs as on a machine of its own: found by the platform it serves.
  const ours = processes().filter((p) => p.env.get('DATA_DIR') === dataDir || (process.env.BASE_URL && p.env.get('PLATFORM_URL') === process.env.BASE_URL));
  const find = (pattern: RegExp) => ours.filter((p) => pattern.test(p.cmdline));
  const pools = [...find(/edgetune_trainer\.worker/), ...find(/device-agent\/src\/worker\.ts/)];
  assert.ok(find(/edgetune_trainer\.worker/).length >= 1, 'the trainer is running');
  assert.ok(find(/device-agent\/src\/worker\.ts/).length >= 1, 'the device agent is running');
  const lab2 = find(/device-agent\/src\/worker\.ts/).filter((p) => p.env.get('DEVICE_POOL') === 'lab2');
  assert.ok(lab2.length >= 1, 'the second platform pool is running');
  for (const p of lab2) {
    // Its own folder and a minimal environment: nothing of the platform's data folder.
    assert.equal(p.env.has('DATA_DIR'), false);
    assert.ok(!p.cwd.startsWith(dataDir) && !p.cwd.startsWith(path.dirname(dataDir)), `lab2 runs in ${p.cwd}`);
    assert.deepEqual([...p.env.keys()].filter((k) => !['NODE_ENV', 'PATH', 'HOME', 'TMPDIR', 'DEVICE_POOL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'PLATFORM_URL', 'LLAMA_CPP_DIR', 'DEVICE_PROFILES'].includes(k)), []);
  }
  for (const p of pools) {
    for (const name of PLATFORM_SECRETS) assert.equal(p.env.has(name), false, `${name} in pid ${p.pid} (${p.cmdline.slice(0, 80)})`);
    for (const name of p.env.keys()) assert.doesNotMatch(name, STORE_SETTINGS, `${name} in pid ${p.pid} (${p.cmdline.slice(0, 80)})`);
    assert.match(p.env.get('PLATFORM_URL') ?? '', /^https?:\/\//, `PLATFORM_URL in pid ${p.pid}`);
  }
  const web = find(/apps\/web\/server\.ts/);
  assert.ok(web.length >= 1, 'the web app is running');
  assert.ok(web.some((p) => p.env.has('DATABASE_URL') && p.env.has('AUTH_SECRET') && p.env.get('STORAGE_URL')?.startsWith('s3://') && p.env.has('AWS_SECRET_ACCESS_KEY')));
});
