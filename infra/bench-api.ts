/**
 * `npm run bench:api` — latency of authenticated REST reads at rising request rates, on an idle
 * platform and while a large dataset upload is being validated by the same web server.
 *
 * Starts its own stack (PostgreSQL, Temporal, workers, the web app) on bench ports under
 * .data/bench/api-<pid>, makes an organization and an API key with the operator CLI, uploads a few
 * small datasets and queues a few jobs (the trainer is stopped, so they stay queued), then drives
 * GET /api/v1/datasets, /api/v1/jobs, /api/v1/models and /v1/fine_tuning/jobs round-robin with
 * autocannon at each rate and prints p50 / p99 latency and the first rate whose p99 passes 50 ms.
 * The second sweep runs while BENCH_UPLOAD bytes (default 2G) of chat JSONL are validated.
 *
 *   BENCH_RATES=50,100,200,400,800   requests per second, one step each
 *   BENCH_SECONDS=4                  seconds per step
 *   BENCH_UPLOAD=2G                  size of the upload validated during the second sweep
 */
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { createLogger } from '@edgetune/config';
import { adminApiKey, ROOT, startStack } from './stack';

const log = createLogger('bench-api');
const rates = (process.env.BENCH_RATES ?? '50,100,200,400,800').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const uploadBytes = parseSize(process.env.BENCH_UPLOAD ?? '2G');
const P99_LIMIT_MS = 50;

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)B?$/i.exec(s.trim());
  if (!m) throw new Error(`BENCH_UPLOAD: cannot read size ${JSON.stringify(s)} (use e.g. 500M or 2G)`);
  return Math.round(Number(m[1]) * { '': 1, K: 1e3, M: 1e6, G: 1e9 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G']);
}

const dataDir = path.join(ROOT, '.data', 'bench', `api-${process.pid}`);
mkdirSync(dataDir, { recursive: true });
const stack = await startStack({
  dataDir,
  port: Number(process.env.BENCH_PORT ?? 3150),
  postgresPort: Number(process.env.BENCH_POSTGRES_PORT ?? 5450),
  temporalPort: Number(process.env.BENCH_TEMPORAL_PORT ?? 7250),
  temporalUiPort: Number(process.env.BENCH_TEMPORAL_UI_PORT ?? 8250),
  echo: false,
  log,
  web: true,
});

try {
  // Training would compete for the CPU: the jobs only need to exist and be listed.
  await stack.stopComponent('trainer');
  await stack.stopComponent('device-agent');
  const key = adminApiKey(stack.env, 'bench', 'read,train');
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${stack.baseUrl}${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) } });

  for (let i = 0; i < 5; i++) {
    const form = new FormData();
    form.set('file', new Blob([chatLines(200, i)]), `bench-${i}.jsonl`);
    const r = await api('/api/v1/files', { method: 'POST', body: form });
    if (r.status !== 201) throw new Error(`seeding a dataset failed: ${r.status} ${await r.text()}`);
    const file = (await r.json()) as { id: string };
    const job = await api('/v1/fine_tuning/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'lfm2-tiny', training_file: file.id }),
    });
    if (job.status !== 200) throw new Error(`queueing a job failed: ${job.status} ${await job.text()}`);
  }

  const idle = await sweep(key, null);
  print(`idle`, idle);

  const file = path.join(dataDir, 'upload.jsonl');
  await writeUpload(file, uploadBytes);
  const validation = await startUpload(api, file);
  const loaded = await sweep(key, validation);
  const validated = await validation.done;
  print(`while ${(uploadBytes / 1e9).toFixed(2)} GB validate (${validated.seconds.toFixed(1)} s, ${validated.status})`, loaded);
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

interface Step {
  rate: number;
  p50: number;
  p99: number;
  achieved: number;
  non2xx: number;
  errors: number;
  /** Whether the upload was still validating when the step ended. */
  underLoad: boolean | null;
}

async function sweep(key: string, validation: Validation | null): Promise<Step[]> {
  const steps: Step[] = [];
  const paths = ['/api/v1/datasets', '/api/v1/jobs', '/api/v1/models', '/v1/fine_tuning/jobs'];
  const drive = (rate: number, duration: number) =>
    autocannon({
      url: stack.baseUrl,
      connections: Math.max(4, Math.min(64, Math.ceil(rate / 20))),
      overallRate: rate,
      duration,
      headers: { authorization: `Bearer ${key}` },
      requests: paths.map((p) => ({ method: 'GET', path: p })),
    });
  // Warm-up, not recorded: the first requests compile routes and fill connection pools.
  await drive(rates[0]!, 2);
  for (const rate of rates) {
    const r = await drive(rate, seconds);
    steps.push({
      rate,
      p50: r.latency.p50,
      p99: r.latency.p99,
      achieved: r.requests.average,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      underLoad: validation ? !validation.finished : null,
    });
  }
  return steps;
}

function print(title: string, steps: Step[]): void {
  process.stdout.write(`\nREST reads, ${title} (${seconds} s per rate, ${rates.length} rates):\n`);
  process.stdout.write('  rate/s  achieved/s  p50 ms  p99 ms  non-2xx  errors' + (steps[0]?.underLoad !== null ? '  validating' : '') + '\n');
  for (const s of steps) {
    process.stdout.write(
      `  ${String(s.rate).padStart(6)}  ${s.achieved.toFixed(0).padStart(10)}  ${s.p50.toFixed(1).padStart(6)}  ${s.p99.toFixed(1).padStart(6)}  ${String(s.non2xx).padStart(7)}  ${String(s.errors).padStart(6)}` +
        (s.underLoad !== null ? `  ${s.underLoad ? 'yes' : 'no (ended)'}` : '') +
        '\n',
    );
  }
  const over = steps.find((s) => s.p99 > P99_LIMIT_MS);
  process.stdout.write(over ? `  p99 passes ${P99_LIMIT_MS} ms at ${over.rate} req/s\n` : `  p99 stays under ${P99_LIMIT_MS} ms up to ${rates[rates.length - 1]} req/s\n`);
}

function chatLines(n: number, salt: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `${JSON.stringify({ messages: [{ role: 'user', content: `Question ${salt}-${i}: what does part ${i * 13} of batch ${salt} do?` }, { role: 'assistant', content: `Part ${i * 13} of batch ${salt} regulates the flow in stage ${i % 7}; replace it every ${i % 11 + 1} months.` }] })}\n`;
  }
  return out;
}

/** Writes `bytes` of chat JSONL (varied lines, so validation does real work). */
async function writeUpload(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  let written = 0;
  let batch = 0;
  while (written < bytes) {
    const chunk = chatLines(2000, batch++);
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface Validation {
  finished: boolean;
  done: Promise<{ seconds: number; status: number }>;
}

/** Uploads the file in chunks, then asks for completion (the web server validates it) without waiting. */
async function startUpload(api: (p: string, init?: RequestInit) => Promise<Response>, file: string): Promise<Validation> {
  const size = statSync(file).size;
  const created = await api('/api/v1/uploads', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'bench-upload.jsonl', size }) });
  if (created.status !== 201) throw new Error(`creating the upload failed: ${created.status} ${await created.text()}`);
  const { id, chunkSize } = (await created.json()) as { id: string; chunkSize: number };
  for (let offset = 0; offset < size; offset += chunkSize) {
    const end = Math.min(size, offset + chunkSize) - 1;
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(file, { start: offset, end })) chunks.push(c as Buffer);
    const r = await api(`/api/v1/uploads/${id}`, { method: 'PUT', headers: { 'content-range': `bytes ${offset}-${end}/${size}` }, body: Buffer.concat(chunks) });
    if (r.status !== 200) throw new Error(`chunk at ${offset} failed: ${r.status} ${await r.text()}`);
  }
  const state: Validation = { finished: false, done: Promise.resolve({ seconds: 0, status: 0 }) };
  const t0 = performance.now();
  state.done = api(`/api/v1/uploads/${id}/complete`, { method: 'POST' }).then(async (r) => {
    await r.arrayBuffer();
    state.finished = true;
    return { seconds: (performance.now() - t0) / 1000, status: r.status };
  });
  return state;
}
