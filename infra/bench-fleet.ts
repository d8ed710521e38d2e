/**
 * `npm run bench:fleet` — check-ins of enrolled edge devices on a stack of its own (bench ports,
 * .data/bench-fleet-<pid>): BENCH_FLEET_DEVICES (default 20 000) devices are enrolled (rows as
 * enrollDevice writes them, each with its own token), then autocannon drives
 * `POST /api/v1/fleets/{id}/devices/{device}/check-in`, each request a different device in turn,
 * for BENCH_FLEET_SECONDS (default 15) at full speed; then a model is released to the whole fleet
 * and the devices poll `GET …/tuf/timestamp.json` with the ETag they hold (an unchanged timestamp:
 * 304), each request a different device. Prints requests/s, p50/p99 latency and the database
 * writes per request (PostgreSQL's own counters of the devices table).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { createLogger } from '@edgetune/config';
import { adminApiKey, ROOT, startStack } from './stack';

const log = createLogger('bench-fleet');
const DEVICES = Number(process.env.BENCH_FLEET_DEVICES ?? 100_000);
const SECONDS = Number(process.env.BENCH_FLEET_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_FLEET_CONNECTIONS ?? 32);

const dataDir = path.join(ROOT, '.data', `bench-fleet-${process.pid}`);
const stack = await startStack({
  dataDir,
  port: Number(process.env.BENCH_PORT ?? 3180),
  postgresPort: Number(process.env.BENCH_POSTGRES_PORT ?? 5480),
  temporalPort: Number(process.env.BENCH_TEMPORAL_PORT ?? 7280),
  temporalUiPort: Number(process.env.BENCH_TEMPORAL_UI_PORT ?? 8280),
  echo: false,
  log,
  web: true,
});
Object.assign(process.env, stack.env);
const { db, schema } = await import('@edgetune/db');
const { newSecretToken } = await import('@edgetune/auth');
const { newId } = await import('@edgetune/contracts');
const { sql } = await import('drizzle-orm');
const { seedPublishedModel, seedTrainingFile } = await import('@edgetune/api/testing');
const { callerForApiKey } = await import('@edgetune/api');

/** A setup request; once more if the server closed a kept-alive connection as it was reused (idle while the admin CLI ran). */
const setupFetch = (url: string, init: RequestInit) => fetch(url, init).catch(() => fetch(url, init));

try {
  const key = adminApiKey(stack.env, 'bench-fleet', 'admin');
  const res = await setupFetch(`${stack.baseUrl}/api/v1/fleets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  const fleet = (await res.json()) as { id: string };
  const [row] = await db().select().from(schema.fleets).where(sql`${schema.fleets.id} = ${fleet.id}`);
  const devices: { id: string; token: string }[] = [];
  for (let start = 0; start < DEVICES; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, DEVICES - start) }, (_, i) => {
      const t = newSecretToken('etd_');
      const d = { id: newId('device'), token: t.token };
      devices.push(d);
      return { id: d.id, orgId: row.orgId, fleetId: row.id, name: `dev-${start + i}`, profile: 'x86_64-avx2', fingerprint: {}, tokenHash: t.hash, bucket: (start + i) % 100 };
    });
    await db().insert(schema.fleetDevices).values(batch);
  }
  const updates = async () =>
    Number((await db().execute<{ n: string }>(sql`select n_tup_upd as n from pg_stat_user_tables where relname = 'fleet_devices'`)).rows[0]?.n ?? 0);
  // Every statement outside a transaction counts as one (reads too): what a request costs the database.
  const commits = async () =>
    Number((await db().execute<{ n: string }>(sql`select xact_commit::text as n from pg_stat_database where datname = current_database()`)).rows[0]?.n ?? 0);
  const body = JSON.stringify({ installed_version: 'ft:lfm2-350m:bench::00000000@1', health: 'ok' });
  let next = 0;
  const drive = (seconds: number) =>
    autocannon({
      url: stack.baseUrl,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            const d = devices[next++ % devices.length]!;
            return { ...req, path: `/api/v1/fleets/${fleet.id}/devices/${d.id}/check-in`, headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }, body };
          },
        },
      ],
    });
  await drive(3); // warm-up: routes compiled, pools filled
  const before = await updates();
  const commitsBefore = await commits();
  const r = await drive(SECONDS);
  // The statistics collector publishes counters with a delay.
  await new Promise((done) => setTimeout(done, 1500));
  const writes = (await updates()) - before;
  const checkInCommits = (await commits()) - commitsBefore;
  const total = r.requests.total;
  process.stdout.write(`\nbench:fleet — device check-ins on its own stack, ${DEVICES} enrolled devices, ${CONNECTIONS} connections, ${SECONDS} s, this machine\n`);
  process.stdout.write(`  ${r.requests.average.toFixed(0)} check-ins/s (${total} in all, ${r.non2xx} not 2xx, ${r.errors + r.timeouts} errors), latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms\n`);
  process.stdout.write(`  database row writes per check-in: ${(writes / Math.max(1, total - r.non2xx)).toFixed(2)} (fleet_devices updates ${writes}); database transactions per check-in, reads included: ${(checkInCommits / Math.max(1, total)).toFixed(2)}\n`);

  // A release to every device, then the poll devices make most often: an unchanged timestamp.json.
  const caller = await callerForApiKey(key);
  const model = await seedPublishedModel(row.orgId, (await seedTrainingFile(caller)).id);
  const rel = await setupFetch(`${stack.baseUrl}/api/v1/fleets/${fleet.id}/releases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: model.name, rollout_percent: 100 }),
  });
  if (rel.status !== 201) throw new Error(`release: ${rel.status} ${await rel.text()}`);
  const first = await fetch(`${stack.baseUrl}/api/v1/fleets/${fleet.id}/tuf/timestamp.json`, { headers: { authorization: `Bearer ${devices[0]!.token}` } });
  const etag = first.headers.get('etag');
  if (first.status !== 200 || !etag) throw new Error(`timestamp.json: ${first.status}`);
  const poll = (seconds: number) =>
    autocannon({
      url: stack.baseUrl,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => {
            const d = devices[next++ % devices.length]!;
            return { ...req, path: `/api/v1/fleets/${fleet.id}/tuf/timestamp.json`, headers: { authorization: `Bearer ${d.token}`, 'if-none-match': etag } };
          },
        },
      ],
    });
  await poll(3);
  const beforePoll = await updates();
  const commitsBeforePoll = await commits();
  const p = await poll(SECONDS);
  await new Promise((done) => setTimeout(done, 1500));
  const pollWrites = (await updates()) - beforePoll;
  const pollCommits = (await commits()) - commitsBeforePoll;
  const notModified = p['3xx'] ?? 0;
  process.stdout.write(`  timestamp.json polls with an unchanged ETag: ${p.requests.average.toFixed(0)} requests/s (${p.requests.total} in all, ${notModified} answered 304, ${p.non2xx - notModified} other non-2xx, ${p.errors + p.timeouts} errors), latency p50 ${p.latency.p50} ms, p99 ${p.latency.p99} ms\n`);
  process.stdout.write(`  database row writes per poll: ${(pollWrites / Math.max(1, p.requests.total)).toFixed(2)}; database transactions per poll, reads included: ${(pollCommits / Math.max(1, p.requests.total)).toFixed(2)}\n`);
  process.stdout.write('  target of issue 14 on a 2-core machine: ≥ 2000 check-ins/s with p99 ≤ 50 ms for an unchanged timestamp.json\n');
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
