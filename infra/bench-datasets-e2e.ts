/**
 * The end-to-end mode of `npm run bench:datasets` (`-- --e2e`): a chat JSONL file uploaded over
 * real HTTP to a running platform and timed until it is a `processed` dataset version, the way a
 * customer sees it. For each object store (the embedded filesystem one and an S3 server,
 * versitygw) it starts its own stack, and for each size it uploads
 *   - with the official `openai` client (`files.create`, multipart), polled with `files.retrieve`;
 *   - through the resumable upload API (parts in parallel, then complete).
 * It prints MB/s (file size ÷ time from the first byte sent to `processed`), how much the web
 * server's resident memory (its whole process group) grew meanwhile, sampled every 50 ms, and the
 * CPU seconds each upload cost: the client's (this process), the web server's main thread and
 * other threads, and the S3 server's (from /proc, per thread).
 */
import { createReadStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import type { Logger } from '@edgetune/config';
import { startS3Server, type S3Server } from './s3-server';
import { adminApiKey, ROOT, startStack } from './stack';

export interface EndToEndRow {
  store: string;
  path: string;
  mb: number;
  seconds: number;
  rssBeforeMb: number;
  rssGrowthMb: number;
  status: string;
  /** CPU seconds the upload cost, by who spent them. */
  cpu: CpuSplit;
}

/**
 * CPU seconds by who spent them: the client (this process: the official client, or the parts'
 * fetches), the web server's main thread and its other threads (dataset validation, libuv's pool,
 * V8's helpers), and the S3 server.
 */
export interface CpuSplit {
  client: number;
  webMain: number;
  webOther: number;
  s3: number;
}

const PAGE = 4096;

function pidRssMb(pid: number): number {
  try {
    return (Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE) / 1048576;
  } catch {
    return 0;
  }
}

/** Resident memory of every process in a process group (tsx runs the server in a child), in MB. */
function groupRssMb(pgid: number): number {
  let pages = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name, which may itself hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      pages += Number(readFileSync(`/proc/${name}/statm`, 'utf8').split(' ')[1]);
    } catch {
      // The process ended while we looked.
    }
  }
  return (pages * PAGE) / 1048576;
}

/** The processes of a process group. */
function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

const TICKS_PER_SECOND = 100;

/** utime + stime of one thread, in seconds. */
function threadCpu(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds so far of a process group's main threads and of its other threads. */
function groupCpu(pgid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const pid of groupPids(pgid)) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      const s = threadCpu(pid, Number(t));
      if (Number(t) === pid) main += s;
      else other += s;
    }
  }
  return { main, other };
}

/** Samples a process group's RSS until stopped; returns the peak. */
function sampleRss(pgid: number): { stop(): number } {
  let peak = groupRssMb(pgid);
  // The group's processes are looked up twice a second, not at every sample: a scan of /proc
  // every 50 ms would cost this machine more than the sampling is worth.
  let pids = groupPids(pgid);
  const rss = () => pids.reduce((n, pid) => n + pidRssMb(pid), 0);
  const refresh = setInterval(() => (pids = groupPids(pgid)), 500);
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 50);
  return {
    stop() {
      clearInterval(timer);
      clearInterval(refresh);
      return Math.max(peak, groupRssMb(pgid));
    },
  };
}

async function viaOpenAI(baseUrl: string, key: string, file: string): Promise<string> {
  const ai = new OpenAI({ apiKey: key, baseURL: `${baseUrl}/v1`, maxRetries: 0, timeout: 30 * 60_000 });
  const created = await ai.files.create({ file: createReadStream(file), purpose: 'fine-tune' });
  let f = created;
  while (f.status !== 'processed') {
    if (f.status === 'error') throw new Error(`upload failed: ${JSON.stringify(f.status_details)}`);
    await new Promise((r) => setTimeout(r, 100));
    f = await ai.files.retrieve(created.id);
  }
  return f.id;
}

/** The resumable API: create, PUT parts (`parallel` at a time), complete. */
async function viaResumable(baseUrl: string, key: string, file: string, parallel: number): Promise<string> {
  const size = statSync(file).size;
  const api = (p: string, init: RequestInit = {}) => fetch(`${baseUrl}/api/v1${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) } });
  const created = await api('/uploads', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: path.basename(file), size }) });
  if (created.status !== 201) throw new Error(`creating the upload failed: ${created.status} ${await created.text()}`);
  const { id, chunkSize } = (await created.json()) as { id: string; chunkSize: number };
  const starts: number[] = [];
  for (let o = 0; o < size; o += chunkSize) starts.push(o);
  const send = async (start: number) => {
    const end = Math.min(size, start + chunkSize) - 1;
    const body = createReadStream(file, { start, end, highWaterMark: 1 << 20 });
    const r = await api(`/uploads/${id}`, {
      method: 'PUT',
      headers: { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) },
      body: body as unknown as BodyInit,
      duplex: 'half',
    } as RequestInit);
    if (r.status !== 200) throw new Error(`part at ${start} failed: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, starts.length) }, async () => {
      while (next < starts.length) await send(starts[next++]!);
    }),
  );
  const done = await api(`/uploads/${id}/complete`, { method: 'POST' });
  if (done.status !== 200 && done.status !== 201) throw new Error(`completing the upload failed: ${done.status} ${await done.text()}`);
  return ((await done.json()) as { file: { id: string } }).file.id;
}

export async function benchEndToEnd(opts: {
  files: { file: string; bytes: number }[];
  stores: string[];
  parallel: number;
  dir: string;
  log: Logger;
}): Promise<EndToEndRow[]> {
  const rows: EndToEndRow[] = [];
  for (const store of opts.stores) {
    const dataDir = path.join(opts.dir, `stack-${store}`);
    mkdirSync(dataDir, { recursive: true });
    let s3: S3Server | null = null;
    if (store === 's3') s3 = await startS3Server({ dataDir, port: Number(process.env.BENCH_S3_PORT ?? 7180), bucket: 'edgetune-bench', log: opts.log, root: ROOT });
    else if (store !== 'file') throw new Error(`BENCH_STORES: unknown store ${JSON.stringify(store)} (file or s3)`);
    const stack = await startStack({
      dataDir,
      port: Number(process.env.BENCH_PORT ?? 3180),
      postgresPort: Number(process.env.BENCH_POSTGRES_PORT ?? 5480),
      temporalPort: Number(process.env.BENCH_TEMPORAL_PORT ?? 7280),
      temporalUiPort: Number(process.env.BENCH_TEMPORAL_UI_PORT ?? 8280),
      echo: false,
      log: opts.log,
      web: true,
      extraEnv: s3 ? s3.env('bench') : {},
    });
    try {
      const key = adminApiKey(stack.env, 'bench', 'train');
      const web = stack.processes.get('web')!;
      // Warm-up, not recorded: the first upload loads the tokenizer and compiles the route. The
      // trainer stages the base model's tokenizer at its start; uploads count tokens once it is there.
      const warm = path.join(dataDir, 'warm.jsonl');
      const line = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });
      writeFileSync(warm, `${line}\n`.repeat(100));
      for (let i = 0; ; i++) {
        await viaOpenAI(stack.baseUrl, key, warm);
        const counted = await tokensCounted(stack.baseUrl, key);
        await dropDatasets(stack.baseUrl, key);
        if (counted) break;
        if (i === 60) throw new Error('the platform never counted tokens: the base model tokenizer was not staged');
        await new Promise((r) => setTimeout(r, 2000));
      }
      await viaResumable(stack.baseUrl, key, warm, opts.parallel);
      await dropDatasets(stack.baseUrl, key);
      // Nothing else competes for the two cores: no job runs during an upload.
      for (const name of ['trainer', 'device-agent']) await stack.stopComponent(name);
      for (const { file, bytes } of opts.files) {
        for (const [name, run] of [
          ['openai files.create', () => viaOpenAI(stack.baseUrl, key, file)],
          [`resumable, ${opts.parallel} parts in flight`, () => viaResumable(stack.baseUrl, key, file, opts.parallel)],
        ] as const) {
          const rssBefore = groupRssMb(web.pid!);
          const sampler = sampleRss(web.pid!);
          const cpu0 = { client: process.cpuUsage(), web: groupCpu(web.pid!), s3: s3?.pid ? groupCpu(s3.pid).main + groupCpu(s3.pid).other : 0 };
          const t0 = performance.now();
          let status = 'processed';
          try {
            await run();
          } catch (e) {
            status = `FAILED: ${(e as Error).message.slice(0, 200)}`;
          }
          const seconds = (performance.now() - t0) / 1000;
          const peak = sampler.stop();
          const client = process.cpuUsage(cpu0.client);
          const webCpu = groupCpu(web.pid!);
          const cpu: CpuSplit = {
            client: (client.user + client.system) / 1e6,
            webMain: webCpu.main - cpu0.web.main,
            webOther: webCpu.other - cpu0.web.other,
            s3: s3?.pid ? groupCpu(s3.pid).main + groupCpu(s3.pid).other - cpu0.s3 : 0,
          };
          if (status === 'processed' && !(await tokensCounted(stack.baseUrl, key))) status = 'FAILED: tokens were not counted';
          rows.push({ store, path: name, mb: bytes / 1e6, seconds, rssBeforeMb: rssBefore, rssGrowthMb: peak - rssBefore, status, cpu });
          opts.log.info({ store, path: name, mb: bytes / 1e6, seconds, mbPerS: bytes / 1e6 / seconds, rssGrowthMb: peak - rssBefore, status }, 'uploaded');
          // Each upload is a new dataset version; the next one must not be deduplicated away.
          await dropDatasets(stack.baseUrl, key);
        }
      }
    } finally {
      await stack.stop();
      await s3?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}

/** Deletes every dataset of the bench organization, so the same bytes upload afresh. */
async function dropDatasets(baseUrl: string, key: string): Promise<void> {
  const headers = { authorization: `Bearer ${key}` };
  const list = (await (await fetch(`${baseUrl}/api/v1/datasets?limit=100`, { headers })).json()) as { data: { id: string }[] };
  for (const d of list.data) {
    const r = await fetch(`${baseUrl}/api/v1/datasets/${d.id}`, { method: 'DELETE', headers });
    if (r.status !== 200) throw new Error(`deleting dataset ${d.id}: ${r.status} ${await r.text()}`);
  }
}

/** Whether the newest dataset version's report says its tokens were counted with the real tokenizer. */
async function tokensCounted(baseUrl: string, key: string): Promise<boolean> {
  const headers = { authorization: `Bearer ${key}` };
  const list = (await (await fetch(`${baseUrl}/api/v1/datasets?limit=1`, { headers })).json()) as { data: { id: string }[] };
  if (!list.data[0]) return false;
  const d = (await (await fetch(`${baseUrl}/api/v1/datasets/${list.data[0].id}`, { headers })).json()) as {
    versions: { report: { stats?: { tokenizer?: { available?: boolean } } } | null }[];
  };
  return d.versions.every((v) => v.report?.stats?.tokenizer?.available === true);
}
