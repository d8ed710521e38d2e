/**
 * `npm run bench:pools` — organization pools on a stack of its own with the S3 server (bench
 * ports, .data/bench-pools-<pid>). Prints:
 *  1. dispatch latency: from a task being scheduled (its row written by the orchestrator's
 *     asynchronously completed pool activity) to an agent starting it (the row claimed by a long
 *     poll), p50 / p99 over BENCH_POOL_TASKS (default 60) tasks with two agents, each a real
 *     `npm run device-agent` process in its own folder. Tasks go one at a time, so each meets an
 *     idle agent and the wait is dispatch alone;
 *  2. object transfer: BENCH_POOL_MB (default 256) MB from the S3 server into an agent's folder
 *     through the presigned URL the platform hands out, with the agent's own download code, versus
 *     a raw GET of the same object with the AWS SDK (target ratio ≥ 0.8). Median of 3 each;
 *  3. the same object both ways through a platform pool's storage grant (BrokeredStorage: a broker
 *     request to the web app, then the presigned transfer), against the raw SDK GET and PUT.
 * Needs the test fixture GGUF (made by `npm test`) for the tasks' real quantizations.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@edgetune/config';
import { startS3Server } from './s3-server';
import { adminApiKey, ROOT, startStack } from './stack';

const log = createLogger('bench-pools');
const TASKS = Number(process.env.BENCH_POOL_TASKS ?? 60);
const MB = Number(process.env.BENCH_POOL_MB ?? 256);
const IDLE_SECONDS = 10;
const gguf = path.join(ROOT, '.data', 'test', 'fixtures', 'lfm2-tiny-f16.gguf');
if (!existsSync(gguf)) throw new Error(`no fixture GGUF at ${gguf}: run npm test once (it makes the fixture)`);

const dataDir = path.join(ROOT, '.data', `bench-pools-${process.pid}`);
mkdirSync(dataDir, { recursive: true });
const s3 = await startS3Server({ dataDir, port: Number(process.env.BENCH_S3_PORT ?? 7170), bucket: 'edgetune-bench', log, root: ROOT });
const stack = await startStack({
  dataDir: path.join(dataDir, 'stack'),
  port: Number(process.env.BENCH_PORT ?? 3170),
  postgresPort: Number(process.env.BENCH_POSTGRES_PORT ?? 5470),
  temporalPort: Number(process.env.BENCH_TEMPORAL_PORT ?? 7270),
  temporalUiPort: Number(process.env.BENCH_TEMPORAL_UI_PORT ?? 8270),
  echo: false,
  log,
  web: true,
  extraEnv: s3.env('stack'),
});
Object.assign(process.env, stack.env);
const { db, schema } = await import('@edgetune/db');
const { storage } = await import('@edgetune/storage');
const { temporalClient, temporalConnectionOptions } = await import('@edgetune/temporal');
const { NativeConnection, Worker } = await import('@temporalio/worker');
const { and, eq, isNotNull, sql } = await import('drizzle-orm');
const { BrokeredStorage, downloadToFile } = await import('@edgetune/storage');
const { mintStorageGrant } = await import('@edgetune/api/pipeline');

const agents: ChildProcess[] = [];
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function api(key: string, method: string, p: string, body?: unknown): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${stack.baseUrl}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

try {
  const key = adminApiKey(stack.env, 'bench-pools', 'admin');
  const orgId = (await api(key, 'GET', '/me')).org.id as string;
  const pool = await api(key, 'POST', '/pools', { name: 'bench-lab' });
  // Task rows belong to a job: one created on the pool and cancelled before it trains.
  const fd = new FormData();
  fd.append('purpose', 'fine-tune');
  fd.append('file', new Blob([readFileSync(path.join(ROOT, '.data', 'test', 'fixtures', 'data', 'train.jsonl'))]), 'train.jsonl');
  const file = await api(key, 'POST', '/files', fd);
  const job = await api(key, 'POST', '/jobs', { model: 'lfm2-tiny', training_file: file.id, target_devices: ['x86_64-avx2'], target_pools: [pool.id], quantizations: ['Q8_0', 'Q4_K_M'] });
  await api(key, 'POST', `/jobs/${job.id}/cancel`);

  for (const name of ['bench-a', 'bench-b']) {
    const folder = path.join(dataDir, name);
    mkdirSync(folder, { recursive: true });
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'workers/device-agent/src/remote.ts'), '--url', stack.baseUrl, '--data-dir', path.join(folder, 'data'), '--name', name], {
      cwd: folder,
      env: { NODE_ENV: 'production', PATH: process.env.PATH ?? '', HOME: folder, EDGETUNE_POOL_TOKEN: pool.enrollment_token, LLAMA_CPP_DIR: path.join(ROOT, '.tools', 'llama.cpp'), LOG_LEVEL: 'warn' },
      stdio: 'ignore',
      detached: true,
    });
    agents.push(child);
  }
  for (let i = 0; ; i++) {
    const v = await api(key, 'GET', `/pools/${pool.id}`);
    if (v.agents.filter((a: { online: boolean }) => a.online).length === 2) break;
    if (i > 120) throw new Error('the two agents did not join the pool within a minute');
    await sleep(500);
  }

  // What two idle agents' long polls cost the database: committed transactions per second while
  // nothing is queued. The stack's own periodic work (the orchestrator's keeper and reconciler)
  // counts too; this benchmark sleeps meanwhile.
  const commits = async () => Number(((await db().execute(sql`select xact_commit::bigint as n from pg_stat_database where datname = current_database()`)).rows[0] as { n: string }).n);
  const idleFrom = await commits();
  await sleep(IDLE_SECONDS * 1000);
  const idlePerSecond = (await commits() - idleFrom - 1) / IDLE_SECONDS;

  const prefix = `orgs/${orgId}/jobs/${job.id}/bench`;
  await storage().put(`${prefix}/source.gguf`, readFileSync(gguf));
  const connection = await NativeConnection.connect(temporalConnectionOptions());
  const worker = await Worker.create({ connection, taskQueue: 'bench-pools', workflowsPath: path.join(ROOT, 'infra', 'bench-pools-workflow.ts') });
  const client = await temporalClient();
  const started = performance.now();
  await worker.runUntil(
    client.workflow.execute('benchPoolDispatch', {
      taskQueue: 'bench-pools',
      workflowId: `bench-pools-${process.pid}`,
      args: [{ orgId, poolId: pool.id, jobId: job.id, sourceKey: `${prefix}/source.gguf`, outputPrefix: `${prefix}/out`, tasks: TASKS }],
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await connection.close();
  const rows = await db()
    .select()
    .from(schema.poolTasks)
    .where(and(eq(schema.poolTasks.jobId, job.id), isNotNull(schema.poolTasks.claimedAt)));
  const dispatch = rows.map((r) => r.claimedAt!.getTime() - r.createdAt.getTime()).sort((a, b) => a - b);
  const whole = rows.filter((r) => r.finishedAt).map((r) => r.finishedAt!.getTime() - r.createdAt.getTime()).sort((a, b) => a - b);
  const byAgent = new Map<string, number>();
  for (const r of rows) byAgent.set(r.agentId ?? '?', (byAgent.get(r.agentId ?? '?') ?? 0) + 1);
  const succeeded = rows.filter((r) => r.state === 'succeeded').length;

  // Transfer: one object, our presigned path (the agent's download code) against a raw SDK GET.
  const objectKey = `${prefix}/transfer.bin`;
  await storage().put(objectKey, Readable.from((function* () {
    for (let i = 0; i < MB; i++) yield randomBytes(1024 * 1024);
  })()));
  const dest = path.join(dataDir, 'transfer.bin');
  const presigned: number[] = [];
  const raw: number[] = [];
  for (let run = 0; run < 3; run++) {
    rmSync(dest, { force: true });
    let t = performance.now();
    const url = await storage().presignGet(objectKey, { expiresInSeconds: 600 });
    await downloadToFile(url!, {}, dest, MB * 1024 * 1024);
    presigned.push(MB / ((performance.now() - t) / 1000));
    rmSync(dest, { force: true });
    t = performance.now();
    await pipeline(await storage().get(objectKey), createWriteStream(dest));
    if (statSync(dest).size !== MB * 1024 * 1024) throw new Error('raw GET returned a short object');
    raw.push(MB / ((performance.now() - t) / 1000));
  }

  // A platform pool's path: the job's grant (the job is marked running meanwhile: a grant of an
  // ended job is refused), a broker request, then the presigned transfer.
  await db().update(schema.jobs).set({ status: 'running' }).where(eq(schema.jobs.id, job.id));
  const brokered = new BrokeredStorage(stack.baseUrl, mintStorageGrant({ jobId: job.id, orgId, read: [], write: [prefix] }));
  const brokerMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await brokered.call({ op: 'get', key: objectKey });
    brokerMs.push(performance.now() - t);
  }
  const grantGet: number[] = [];
  const grantPut: number[] = [];
  const rawPut: number[] = [];
  for (let run = 0; run < 3; run++) {
    rmSync(dest, { force: true });
    let t = performance.now();
    await pipeline(await brokered.get(objectKey), createWriteStream(dest));
    if (statSync(dest).size !== MB * 1024 * 1024) throw new Error('the brokered GET returned a short object');
    grantGet.push(MB / ((performance.now() - t) / 1000));
    t = performance.now();
    await brokered.putFile(`${prefix}/up-${run}.bin`, dest);
    grantPut.push(MB / ((performance.now() - t) / 1000));
    t = performance.now();
    await storage().put(`${prefix}/raw-up-${run}.bin`, createReadStream(dest));
    rawPut.push(MB / ((performance.now() - t) / 1000));
  }
  await db().update(schema.jobs).set({ status: 'cancelled' }).where(eq(schema.jobs.id, job.id));

  const out = process.stdout;
  out.write(`\nbench:pools — organization pool on its own stack with versitygw; ${TASKS} tasks, 2 agents (real device-agent processes), this machine\n`);
  out.write(`  idle: ${idlePerSecond.toFixed(1)} database transactions per second while the 2 agents wait with nothing queued (${IDLE_SECONDS} s)\n`);
  out.write(`  dispatch (scheduled → agent started): p50 ${pct(dispatch, 50)} ms, p99 ${pct(dispatch, 99)} ms, max ${dispatch[dispatch.length - 1]} ms over ${dispatch.length} tasks\n`);
  out.write(`  whole task (scheduled → result accepted; a real Q8_0 quantize of lfm2-tiny, download and upload by presigned URL): p50 ${pct(whole, 50)} ms, p99 ${pct(whole, 99)} ms\n`);
  out.write(`  ${succeeded}/${rows.length} succeeded in ${seconds.toFixed(1)} s; tasks per agent: ${[...byAgent.values()].join(', ')}\n`);
  out.write(`  transfer of ${MB} MB, S3 server → agent folder (median of 3): presigned path ${median(presigned).toFixed(0)} MB/s, raw SDK GET ${median(raw).toFixed(0)} MB/s, ratio ${(median(presigned) / median(raw)).toFixed(2)} (target ≥ 0.8)\n`);
  out.write(`  platform pool, storage grant (broker request + presigned transfer, median of 3): download ${median(grantGet).toFixed(0)} MB/s (${(median(grantGet) / median(raw)).toFixed(2)} of raw GET), upload ${median(grantPut).toFixed(0)} MB/s against raw SDK PUT ${median(rawPut).toFixed(0)} MB/s (${(median(grantPut) / median(rawPut)).toFixed(2)}); a broker request alone: median ${median(brokerMs).toFixed(0)} ms over ${brokerMs.length}\n`);
} finally {
  for (const a of agents) {
    try {
      process.kill(-a.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await stack.stop();
  await s3.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
