/**
 * Kill tests: while jobs run, kill -9 a random component at random moments and start it again,
 * then check that nothing was lost or doubled (see chaos-audit.ts). Used by `npm run chaos` (its
 * own stack, more jobs and kills) and, bounded, by `npm test` (the test stack, at its end).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@edgetune/config';
import { seededRandom } from '@edgetune/contracts/testing';
import type { ChaosAudit } from './chaos-audit';
import { ManagedProcess } from './processes';
import { ROOT, type Stack } from './stack';

export interface ChaosOptions {
  stack: Stack;
  log: Logger;
  trainFile: string;
  jobs: number;
  kills: number;
  seed: number;
  /** Seconds between kills, [min, max]. */
  gapSeconds: [number, number];
  /** Seconds a killed component stays down, [min, max]. */
  downSeconds: [number, number];
  /** How long the jobs may take to end once the kills are over. */
  settleMinutes: number;
  /** Default: every component the stack has (and the organization pool's agents). */
  components?: string[];
  /**
   * Agents of an organization pool, each a real `npm run device-agent` process speaking HTTPS to
   * the web app; every other job measures on that pool, and the agents are killed like any component.
   */
  orgPoolAgents?: number;
}

export interface ChaosReport {
  seconds: number;
  kills: Record<string, number>;
  /** Components that died on their own meanwhile (a dependency's death took them down). */
  collateral: Record<string, number>;
  outcomes: Record<string, number>;
  audit: ChaosAudit;
  /** Broken promises; empty when the platform held. */
  violations: string[];
}

const terminal = new Set(['succeeded', 'failed', 'cancelled']);

function runTs(stack: Stack, file: string, args: string[], input = ''): string {
  const r = spawnSync('bash', [path.join(ROOT, 'infra/run-ts.sh'), path.join(ROOT, file), ...args], { env: stack.env, encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${file} ${args[0] ?? ''} failed: ${r.stderr}`);
  return r.stdout;
}

/** fetch that waits out a web server that is down (it is being killed on purpose). */
async function call(stack: Stack, key: string, p: string, init: RequestInit = {}, patienceMs = 120_000): Promise<Response> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      const r = await fetch(`${stack.baseUrl}${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) } });
      if (r.status < 500 || Date.now() > deadline) return r;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await sleep(1000);
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const next = seededRandom(o.seed);
  // Uniform in [0, 1): the generator's 31 low bits scaled (its high bits vary most).
  const rand = () => next(0x80000000) / 0x80000000;
  const between = ([a, b]: [number, number]) => a + rand() * (b - a);
  const tag = `chaos-${Date.now()}`;
  const nAgents = o.orgPoolAgents ?? 0;
  runTs(o.stack, 'packages/api/src/cli/admin.ts', ['create-user', '--email', `${tag}@example.test`, '--org', tag], 'killing processes is a long password\n');
  // Creating the organization pool takes manage_pools: the key acts as an admin then.
  const scopes = nAgents ? 'read,train,admin' : 'read,train';
  const key = runTs(o.stack, 'packages/api/src/cli/admin.ts', ['create-api-key', '--email', `${tag}@example.test`, '--org', tag, '--scopes', scopes]).trim().split('\n').pop()!.trim();
  const agents = nAgents ? await startOrgPool(o, key, tag, nAgents) : null;

  const form = new FormData();
  form.set('purpose', 'fine-tune');
  form.set('file', new Blob([readFileSync(o.trainFile)]), 'chaos-train.jsonl');
  const uploaded = await call(o.stack, key, '/v1/files', { method: 'POST', body: form });
  if (uploaded.status !== 200) throw new Error(`uploading the training file failed: ${uploaded.status} ${await uploaded.text()}`);
  const file = (await uploaded.json()) as { id: string };

  const jobIds: string[] = [];
  let orgId = '';
  for (let i = 0; i < o.jobs; i++) {
    // Every other job (the second, fourth, …) on the organization pool, when there is one.
    const onOrgPool = agents && i % 2 === 1 ? { target_pools: [agents.poolId], target_devices: agents.profiles } : {};
    const r = await call(o.stack, key, '/v1/fine_tuning/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Two candidates: what matters here is that nothing is lost or doubled, not how many variants.
      body: JSON.stringify({ model: 'lfm2-tiny', training_file: file.id, suffix: `chaos-${i}`, hyperparameters: { n_epochs: 1 }, quantizations: ['Q8_0', 'Q4_K_M'], ...onOrgPool }),
    });
    if (r.status !== 200) throw new Error(`creating job ${i} failed: ${r.status} ${await r.text()}`);
    const job = (await r.json()) as { id: string; organization_id: string };
    jobIds.push(job.id);
    orgId = job.organization_id;
  }
  o.log.info({ jobs: jobIds }, 'chaos: jobs created');

  const statuses = async (): Promise<Map<string, string>> => {
    const m = new Map<string, string>();
    for (const id of jobIds) {
      const r = await call(o.stack, key, `/v1/fine_tuning/jobs/${id}`);
      m.set(id, r.status === 200 ? ((await r.json()) as { status: string }).status : `http ${r.status}`);
    }
    return m;
  };
  let last = '';
  const allEnded = async () => {
    const now = await statuses();
    const shown = [...now].map(([id, s]) => `${id.slice(-6)} ${s}`).join(', ');
    if (shown !== last) o.log.info({ jobs: shown }, 'chaos: job statuses');
    last = shown;
    return [...now.values()].every((s) => terminal.has(s));
  };

  const exitsBefore = { ...o.stack.unexpectedExits };
  const components = o.components ?? [...o.stack.components(), ...(agents ? [...agents.procs.keys()] : [])];
  const kills: Record<string, number> = Object.fromEntries(components.map((c) => [c, 0]));
  for (let k = 0; k < o.kills; k++) {
    await sleep(between(o.gapSeconds) * 1000);
    if (await allEnded()) break;
    const victim = components[Math.floor(rand() * components.length)]!;
    const down = between(o.downSeconds);
    o.log.info({ victim, kill: k + 1, downSeconds: Math.round(down) }, 'chaos: kill -9');
    const agent = agents?.procs.get(victim);
    if (agent) await agent.crash();
    else await o.stack.crash(victim);
    kills[victim]!++;
    await sleep(down * 1000);
    if (agent) agent.start();
    else await o.stack.restart(victim);
  }

  const settleBy = Date.now() + o.settleMinutes * 60_000;
  while (!(await allEnded()) && Date.now() < settleBy) await sleep(3000);
  for (const p of agents?.procs.values() ?? []) await p.stop();

  const audit = JSON.parse(runTs(o.stack, 'infra/chaos-audit.ts', [orgId, ...jobIds]).trim().split('\n').pop()!) as ChaosAudit;
  const collateral = Object.fromEntries(
    [...Object.entries(o.stack.unexpectedExits).map(([c, n]) => [c, n - (exitsBefore[c] ?? 0)]), ...Object.entries(agents?.unexpectedExits ?? {})].filter(([, n]) => (n as number) > 0),
  ) as Record<string, number>;
  const outcomes: Record<string, number> = {};
  for (const j of audit.jobs) outcomes[j.status] = (outcomes[j.status] ?? 0) + 1;
  const violations: string[] = [];
  for (const [c, n] of Object.entries(collateral)) violations.push(`${c} died on its own ${n} time(s) (see its log)`);
  if (audit.lost.length) violations.push(`lost jobs: ${audit.lost.join(', ')}`);
  for (const j of audit.jobs) {
    if (!terminal.has(j.status)) violations.push(`job ${j.id} is still ${j.status} ${o.settleMinutes} min after the last kill`);
    if (j.status === 'failed' && !j.error) violations.push(`job ${j.id} failed without a reason`);
    if (j.status === 'succeeded' && j.versions !== 1) violations.push(`job ${j.id} succeeded with ${j.versions} model versions`);
  }
  if (audit.duplicateVersions.length) violations.push(`duplicate model versions: ${audit.duplicateVersions.join(', ')}`);
  if (audit.duplicateVariants.length) violations.push(`duplicate variants: ${audit.duplicateVariants.join(', ')}`);
  if (audit.duplicateUsage.length) violations.push(`duplicate usage rows: ${audit.duplicateUsage.join(', ')}`);
  if (audit.orphanObjects.length) violations.push(`orphaned objects: ${audit.orphanObjects.slice(0, 10).join(', ')}`);
  if (audit.missingObjects.length) violations.push(`rows whose object is gone: ${audit.missingObjects.slice(0, 10).join(', ')}`);
  if (audit.staging.length) violations.push(`staging files left: ${audit.staging.join(', ')}`);
  if (audit.strandedPoolTasks.length) violations.push(`pool tasks still queued or running: ${audit.strandedPoolTasks.join(', ')}`);
  return { seconds: (performance.now() - started) / 1000, kills, collateral, outcomes, audit, violations };
}

export function printChaos(r: ChaosReport): void {
  const line = (s: string) => process.stdout.write(s + '\n');
  line(`\nkill tests: ${r.audit.jobs.length} jobs, ${Object.values(r.kills).reduce((a, b) => a + b, 0)} kills in ${r.seconds.toFixed(0)} s`);
  line(`  kills per component: ${Object.entries(r.kills).map(([c, n]) => `${c} ${n}`).join(', ')}`);
  line(`  components that died on their own: ${Object.entries(r.collateral).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
  line(`  outcomes: ${Object.entries(r.outcomes).map(([s, n]) => `${s} ${n}`).join(', ')}`);
  for (const j of r.audit.jobs.filter((j) => j.error)) line(`  ${j.id} ${j.status}: ${j.error}`);
  line(`  organization pool tasks: ${Object.entries(r.audit.poolTasks).map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`);
  line(`  lost ${r.audit.lost.length}, duplicate versions ${r.audit.duplicateVersions.length}, duplicate variants ${r.audit.duplicateVariants.length}, duplicate usage rows ${r.audit.duplicateUsage.length}, orphaned objects ${r.audit.orphanObjects.length}, missing objects ${r.audit.missingObjects.length}, staging files ${r.audit.staging.length}, stranded pool tasks ${r.audit.strandedPoolTasks.length}`);
  line(r.violations.length ? `  VIOLATIONS:\n    ${r.violations.join('\n    ')}` : '  every promise held');
}

interface OrgPool {
  poolId: string;
  /** The device profiles the agents serve (what the pool's jobs target). */
  profiles: string[];
  procs: Map<string, ManagedProcess>;
  /** Agents that exited without being killed. */
  unexpectedExits: Record<string, number>;
}

/** An organization pool with `n` agents on this machine, each in its own folder, all online. */
async function startOrgPool(o: ChaosOptions, key: string, tag: string, n: number): Promise<OrgPool> {
  const created = await call(o.stack, key, '/api/v1/pools', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `${tag}-lab` }) });
  if (created.status !== 201) throw new Error(`creating the organization pool failed: ${created.status} ${await created.text()}`);
  const pool = (await created.json()) as { id: string; enrollment_token: string };
  // Earlier suites send wrong pool tokens from this address on purpose, which locks it out for a
  // while: the operator's unlock lets the agents in, as support would for a customer.
  runTs(o.stack, 'packages/api/src/cli/admin.ts', ['unlock', '--ip', new URL(o.stack.baseUrl).hostname]);
  const dir = path.join(o.stack.env.DATA_DIR ?? path.join(ROOT, '.data'), `${tag}-agents`);
  const unexpectedExits: Record<string, number> = {};
  const procs = new Map<string, ManagedProcess>();
  for (let i = 1; i <= n; i++) {
    const name = `org-agent-${i}`;
    const folder = path.join(dir, name);
    mkdirSync(folder, { recursive: true });
    const proc = new ManagedProcess(
      {
        name,
        command: path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        args: [path.join(ROOT, 'workers', 'device-agent', 'src', 'remote.ts'), '--url', o.stack.baseUrl, '--data-dir', path.join(folder, 'data'), '--name', `${tag}-${name}`],
        cwd: folder,
        // What a customer's machine has: the pool's token and llama.cpp, no platform secret.
        env: { NODE_ENV: 'production', PATH: process.env.PATH ?? '', HOME: folder, EDGETUNE_POOL_TOKEN: pool.enrollment_token, LLAMA_CPP_DIR: path.join(ROOT, '.tools', 'llama.cpp'), LOG_LEVEL: 'info' },
        logDir: path.join(dir, 'logs'),
        echo: false,
      },
      o.log,
      (agent) => void (unexpectedExits[agent] = (unexpectedExits[agent] ?? 0) + 1),
    );
    proc.start();
    process.once('exit', () => proc.kill());
    procs.set(name, proc);
  }
  for (let waited = 0; ; waited++) {
    const r = await call(o.stack, key, `/api/v1/pools/${pool.id}`);
    const view = (await r.json()) as { profiles: string[]; agents: { online: boolean }[] };
    if (view.agents.filter((a) => a.online).length === n && view.profiles.length) {
      o.log.info({ pool: pool.id, profiles: view.profiles, agents: n }, 'chaos: organization pool online');
      return { poolId: pool.id, profiles: view.profiles, procs, unexpectedExits };
    }
    if (waited > 120) throw new Error(`the organization pool's ${n} agent(s) did not come online within 2 minutes; see ${path.join(dir, 'logs')}`);
    await sleep(1000);
  }
}
