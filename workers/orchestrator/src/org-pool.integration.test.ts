/**
 * Organization pools through the running platform: an owner creates a pool, an agent started
 * from its own folder with only the URL and the token (no database, no secrets, no `.data`, no
 * object store credentials) serves it over HTTPS, and one job measured on the platform's pool and
 * on this one publishes variants naming each. Then the faults: wrong and rotated tokens, a
 * profile the hardware cannot run, a result for a task the agent does not hold, an upload that
 * does not match its claimed sha256, a flooding agent, and a pool with no agent.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { toFile } from 'openai';
import { BASE_URL, ROOT, TRAIN, newAccount, rest, waitForStatus } from './platform-client';

type Account = ReturnType<typeof newAccount>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function restJson(key: string, p: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  const res = await rest(key, p, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json()) as Json };
}

/** What an agent sends: the pool's token, JSON in and out. */
async function agentCall(token: string, p: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${BASE_URL}/api/v1${p}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Json };
}

async function createPool(a: Account, name: string): Promise<{ id: string; token: string }> {
  const r = await restJson(a.key, '/pools', { method: 'POST', body: JSON.stringify({ name }) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.id, token: r.body.enrollment_token };
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < deadline, `${what}: not after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** A real agent process: its own folder and a minimal environment, nothing of the platform's but the URL and the token. */
class AgentProcess {
  log = '';
  private child: ChildProcess;

  constructor(folder: string, token: string, readonly name: string) {
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'production', PATH: process.env.PATH ?? '', HOME: folder, EDGETUNE_POOL_TOKEN: token, LLAMA_CPP_DIR: path.join(ROOT, '.tools', 'llama.cpp') };
    this.child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'workers/device-agent/src/remote.ts'), '--url', BASE_URL, '--data-dir', path.join(folder, 'data'), '--name', name], {
      cwd: folder,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.log += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9 of the agent and its tool processes (tsx runs it in a child: the whole group). */
  kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('organization pools: agents that speak only HTTPS', () => {
  let a: Account;
  let b: Account;
  let trainingFile: string;
  const agents: AgentProcess[] = [];
  const folder = mkdtempSync(path.join(tmpdir(), 'edgetune-org-agent-'));
  const startAgent = (token: string, name: string) => {
    mkdirSync(path.join(folder, name), { recursive: true });
    const agent = new AgentProcess(path.join(folder, name), token, name);
    agents.push(agent);
    return agent;
  };
  const agentLogs = () => agents.map((x) => `--- ${x.name}\n${x.log.slice(-3000)}`).join('\n');
  const waitOnline = (poolId: string, names: string[]) =>
    waitFor(
      'the agents join their pool',
      async () => {
        for (const x of agents) assert.ok(x.running || !names.includes(x.name), `agent ${x.name} exited: ${x.log}`);
        const v = (await restJson(a.key, `/pools/${poolId}`)).body;
        const online = v.agents.filter((g: Json) => g.online).map((g: Json) => g.name);
        return names.every((n) => online.includes(n)) && v.profiles.includes('x86_64-avx2') ? v : null;
      },
      60_000,
    );

  before(async () => {
    // Pools are managed by owners and admins: keys with the admin scope.
    a = newAccount('pools-a', 'admin');
    b = newAccount('pools-b', 'admin');
    trainingFile = (await a.client.files.create({ file: await toFile(readFileSync(TRAIN), 'train.jsonl'), purpose: 'fine-tune' })).id;
  });
  after(() => {
    // Left running, an agent's pipes would keep this test process alive.
    for (const x of agents) x.kill();
    rmSync(folder, { recursive: true, force: true });
  });

  const job = (pools: string[], extra: Record<string, unknown> = {}) =>
    a.client.fineTuning.jobs.create({
      model: 'lfm2-tiny',
      training_file: trainingFile,
      hyperparameters: { n_epochs: 2 },
      // edgetune extras, passed through the official client as extra body fields
      // Two candidates per device and pool keep the runs short (the SFT path measures every one).
      ...({ target_devices: ['x86_64-avx2'], target_pools: pools, quantizations: ['Q8_0', 'Q4_K_M'], ...extra } as object),
    });

  test('an owner creates a pool and sees its token once; to another organization it does not exist', async () => {
    const p = await createPool(a, 'car-lab');
    assert.match(p.token, /^etp_[A-Za-z0-9]{40}$/);
    const mine = await restJson(a.key, `/pools/${p.id}`);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.owner, 'organization');
    assert.equal(mine.body.enrollment_token, undefined, 'the token is shown only when created');
    assert.equal(p.token.startsWith(mine.body.token_prefix), true);
    const list = await restJson(a.key, '/pools');
    assert.ok(list.body.data.some((x: Json) => x.id === p.id));
    assert.ok(list.body.data.some((x: Json) => x.id === 'local' && x.owner === 'platform'), "the platform's pool is listed too");

    assert.equal((await restJson(b.key, `/pools/${p.id}`)).status, 404);
    assert.equal((await restJson(b.key, `/pools/${p.id}`, { method: 'DELETE' })).status, 404);
    assert.equal((await restJson(b.key, `/pools/${p.id}/token`, { method: 'POST' })).status, 404);
    assert.ok(!(await restJson(b.key, '/pools')).body.data.some((x: Json) => x.id === p.id));
    const bFile = (await b.client.files.create({ file: await toFile(readFileSync(TRAIN), 'train.jsonl'), purpose: 'fine-tune' })).id;
    const bJob = await restJson(b.key, '/jobs', { method: 'POST', body: JSON.stringify({ model: 'lfm2-tiny', training_file: bFile, target_devices: ['x86_64-avx2'], target_pools: [p.id], quantizations: ['Q8_0', 'Q4_K_M'] }) });
    assert.equal(bJob.status, 400);
    assert.equal(bJob.body.error.param, 'target_pools');
    assert.match(bJob.body.error.message, /Unknown pool/);

    const noTrainer = await restJson(a.key, '/jobs', { method: 'POST', body: JSON.stringify({ model: 'lfm2-tiny', training_file: trainingFile, training_pool: 'gpu-h100' }) });
    assert.equal(noTrainer.status, 400);
    assert.equal(noTrainer.body.error.param, 'training_pool');
    assert.match(noTrainer.body.error.message, /No trainer is online in training pool 'gpu-h100'/);

    const again = await restJson(a.key, '/pools', { method: 'POST', body: JSON.stringify({ name: 'car-lab' }) });
    assert.equal(again.status, 409);
    const platformName = await restJson(a.key, '/pools', { method: 'POST', body: JSON.stringify({ name: 'local' }) });
    assert.equal(platformName.status, 409);
    assert.match(platformName.body.error.message, /id of a platform pool/);
    const bad = await restJson(a.key, '/pools', { method: 'POST', body: JSON.stringify({ name: '../x' }) });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'name');
  });

  test('agents: no or a wrong token is 401; a profile the hardware cannot run is refused with the reason', async () => {
    const p = await createPool(a, 'auth-lab');
    assert.equal((await fetch(`${BASE_URL}/api/v1/agent/poll`, { method: 'POST', body: '{}' })).status, 401);
    assert.equal((await agentCall('etp_' + 'x'.repeat(40), '/agent/poll', { agent_id: 'agt_x' })).status, 401);
    assert.equal((await agentCall(a.key, '/agent/poll', { agent_id: 'agt_x' })).status, 401, 'an API key is not a pool token');
    const fingerprint = { pool: 'x', hostname: 'h', os: 'Linux', arch: 'x86_64', cpuModel: 'cpu', cores: 2, isaFlags: ['avx2', 'fma'], memoryBytes: 1e9, llamaCppVersion: 'b1', profiles: ['arm64-phone'] };
    const r = await agentCall(p.token, '/agent/register', { name: 'liar', fingerprint });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /arm64-phone needs an aarch64 CPU, this machine is x86_64/);
    const r2 = await agentCall(p.token, '/agent/register', { name: 'liar', fingerprint: { ...fingerprint, isaFlags: ['sse4_2'], profiles: ['x86_64-avx2'] } });
    assert.equal(r2.status, 400);
    assert.match(r2.body.error.message, /needs the CPU flags avx2, fma/);
  });

  test('a flooding agent gets 429 with Retry-After', async () => {
    const p = await createPool(a, 'flood-lab');
    const limit = Number(process.env.RATE_LIMIT_POOL_AGENT ?? 150);
    let limited: Response | null = null;
    for (let i = 0; i <= limit + 5 && !limited; i++) {
      const res = await fetch(`${BASE_URL}/api/v1/agent/tasks/ptask_none/heartbeat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent_id: 'agt_none' }),
      });
      await res.arrayBuffer();
      if (res.status === 429) limited = res;
      else assert.equal(res.status, 404);
    }
    assert.ok(limited, `no 429 after ${limit + 5} requests`);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  });

  test('one job measured on a second platform pool and on an organization pool publishes variants from each', async () => {
    const p = await createPool(a, 'desk-lab');
    startAgent(p.token, 'desk-1');
    const online = await waitOnline(p.id, ['desk-1']);
    assert.equal(online.agents[0].name, 'desk-1');

    // `lab2`: the test stack's second platform pool (a Temporal worker of its own).
    const created = await job([p.id, 'lab2'], { training_pool: 'local' });
    const done = await waitForStatus(a.client, created.id, ['succeeded'], 15 * 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\nagent logs:\n${agentLogs()}`);
    });
    // The signed manifest as published: every variant names the pool whose hardware measured it.
    const model = (await restJson(a.key, `/models/${encodeURIComponent(done.fine_tuned_model!)}`)).body;
    const pools = new Set(model.variants.map((v: Json) => v.measured_on.pool));
    assert.deepEqual([...pools].sort(), [p.id, 'lab2'].sort(), 'variants measured on each pool');
    const keys = model.variants.map((v: Json) => `${v.device}/${v.measured_on.pool}/${v.quantization}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate variants');
    assert.equal(model.variants.filter((v: Json) => v.selected).length, 2, 'one selected variant per device and pool');
    const orgVariant = model.variants.find((v: Json) => v.measured_on.pool === p.id);
    const bytes = Buffer.from(await (await rest(a.key, new URL(orgVariant.download_url).pathname.replace(/^\/api\/v1/, ''))).arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), orgVariant.sha256, 'the stored file is the one the agent uploaded');
    // The agent downloaded the job's F16 as the task's reference and measured the variant against it.
    for (const v of model.variants) assert.equal(v.metrics.quality?.reference, 'F16', `${v.measured_on.pool} ${v.quantization}: ${JSON.stringify(v.metrics)}`);

    // The job records where it trained and on what.
    const rec = (await restJson(a.key, `/jobs/${created.id}`)).body;
    assert.equal(rec.training_pool, 'local');
    assert.equal(rec.result.training.pool, 'local');
    assert.equal(rec.result.training.hardware.device, 'cpu');
    assert.ok(rec.result.training.hardware.name && rec.result.training.hardware.peak_memory_bytes > 0);
    // Trained on padding-free batches (lfm2-tiny packs exactly), as every LFM2 job is.
    assert.equal(rec.result.training.packing, true);

    const view = (await restJson(a.key, `/pools/${p.id}`)).body;
    assert.ok(view.recent_results.length >= 1, 'the pool shows its recent results');
    assert.ok(view.decode_spread.n >= 1 && view.decode_spread.mean > 0);
    assert.equal(view.queue_depth, 0);
  });

  test('an agent killed mid-benchmark: the task is retried after the heartbeat timeout, the job succeeds, no variant twice', async () => {
    const p = await createPool(a, 'kill-lab');
    const first = startAgent(p.token, 'kill-1');
    await waitOnline(p.id, ['kill-1']);
    const created = await job([p.id]);
    await waitFor(
      'a benchmark runs on the agent',
      async () => (await restJson(a.key, `/pools/${p.id}`)).body.current_tasks.some((t: Json) => t.kind === 'benchmark'),
      12 * 60_000,
    );
    first.kill();
    // The same machine comes back (same name): it takes the retried task after Temporal's heartbeat timeout.
    startAgent(p.token, 'kill-1');
    const done = await waitForStatus(a.client, created.id, ['succeeded'], 10 * 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\nagent logs:\n${agentLogs()}`);
    });
    const model = (await restJson(a.key, `/models/${encodeURIComponent(done.fine_tuned_model!)}`)).body;
    const keys = model.variants.map((v: Json) => `${v.device}/${v.measured_on.pool}/${v.quantization}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate variants');
    assert.ok(model.variants.every((v: Json) => v.measured_on.pool === p.id));
    const events = await a.client.fineTuning.jobs.listEvents(created.id, { limit: 100 });
    const benchmarked = events.data.filter((e) => e.message.startsWith('x86_64-avx2 '));
    assert.equal(benchmarked.length, model.variants.length, 'one benchmark event per variant');
  });

  test('a misbehaving agent: a task it does not hold and a result that does not match its upload are refused; its failure fails the job', async () => {
    const p = await createPool(a, 'bad-lab');
    const fingerprint = (await restJson(a.key, '/pools')).body.data.find((x: Json) => x.id === 'local').fingerprint;
    const me = (await agentCall(p.token, '/agent/register', { name: 'rig-1', fingerprint })).body.agent_id as string;
    const other = (await agentCall(p.token, '/agent/register', { name: 'rig-2', fingerprint })).body.agent_id as string;
    assert.ok(me && other);
    const created = await job([p.id]);
    const task = await waitFor(
      'a task reaches the agent',
      async () => {
        const r = await agentCall(p.token, '/agent/poll', { agent_id: me, wait_seconds: 20 });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.task as Json | null;
      },
      12 * 60_000,
    );
    assert.equal(task.kind, 'quantize');
    assert.equal(task.input.device, 'x86_64-avx2');
    assert.ok(task.inputs.source.url && task.outputs.model.url);

    const claim = { key: task.input.outputKey, quantization: task.input.quantization, sizeBytes: 7, sha256: 'a'.repeat(64), durationS: 1 };
    const notHeld = await agentCall(p.token, `/agent/tasks/${task.id}/complete`, { agent_id: other, result: claim });
    assert.equal(notHeld.status, 404, 'another agent of the pool does not hold it');
    const nothing = await agentCall(p.token, `/agent/tasks/${task.id}/complete`, { agent_id: me, result: claim });
    assert.equal(nothing.status, 400);
    assert.match(nothing.body.error.message, /Nothing was uploaded/);

    const junk = Buffer.from('GGUFjunk');
    const put = await fetch(task.outputs.model.platform ? `${BASE_URL}${task.outputs.model.url}` : task.outputs.model.url, {
      method: 'PUT',
      headers: task.outputs.model.platform ? { authorization: `Bearer ${p.token}` } : {},
      body: junk,
    });
    assert.ok(put.ok, `upload: ${put.status}`);
    const lie = await agentCall(p.token, `/agent/tasks/${task.id}/complete`, { agent_id: me, result: { ...claim, sizeBytes: junk.length } });
    assert.equal(lie.status, 400);
    assert.equal(lie.body.error.param, 'result.sha256');
    assert.match(lie.body.error.message, new RegExp(createHash('sha256').update(junk).digest('hex')));

    assert.deepEqual((await agentCall(p.token, `/agent/tasks/${task.id}/heartbeat`, { agent_id: me, progress: { phase: 'quantize' } })).body, { cancel: false });
    const failed = await agentCall(p.token, `/agent/tasks/${task.id}/fail`, { agent_id: me, message: 'disk full on the test rig', retryable: false });
    assert.equal(failed.status, 200);
    const again = await agentCall(p.token, `/agent/tasks/${task.id}/complete`, { agent_id: me, result: claim });
    assert.equal(again.status, 409, 'a finished task takes no result');

    const end = await waitFor('the job fails', async () => {
      const j = await a.client.fineTuning.jobs.retrieve(created.id);
      return ['failed', 'succeeded', 'cancelled'].includes(j.status) ? j : null;
    }, 60_000);
    assert.equal(end.status, 'failed');
    assert.match(end.error?.message ?? '', /disk full on the test rig/);

    // A rotated token is refused at once, even in the middle of a long poll.
    const polling = agentCall(p.token, '/agent/poll', { agent_id: me, wait_seconds: 20 });
    await sleep(500);
    const started = Date.now();
    const rotated = await restJson(a.key, `/pools/${p.id}/token`, { method: 'POST' });
    assert.equal(rotated.status, 200);
    assert.equal((await polling).status, 401);
    assert.ok(Date.now() - started < 5000, 'the waiting poll ends within seconds');
    assert.equal((await agentCall(p.token, '/agent/poll', { agent_id: me })).status, 401);
    assert.equal((await agentCall(rotated.body.enrollment_token, '/agent/poll', { agent_id: me, wait_seconds: 0 })).status, 200);
  });

  test('a job whose pool has no agent says it is waiting, then fails with that reason', async () => {
    const p = await createPool(a, 'empty-lab');
    const created = await job([p.id]);
    const end = await waitFor('the job fails', async () => {
      const j = await a.client.fineTuning.jobs.retrieve(created.id);
      return ['failed', 'succeeded', 'cancelled'].includes(j.status) ? j : null;
    }, 12 * 60_000);
    assert.equal(end.status, 'failed');
    assert.match(end.error?.message ?? '', /no device of profile x86_64-avx2 came online in pool empty-lab within 1 minute/);
    // The organization's own pool was missing its agent: named so, and not credited as the platform's failure.
    assert.equal(end.error?.code, 'pool_unavailable');
    assert.equal(end.error?.param, 'target_pools');
    const events = await a.client.fineTuning.jobs.listEvents(created.id, { limit: 100 });
    assert.ok(events.data.some((e) => /Waiting for a device of profile x86_64-avx2 in pool empty-lab/.test(e.message)));
  });
});
