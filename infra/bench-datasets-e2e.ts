/**
 * The end-to-end mode of `npm run bench:datasets` (`-- --e2e`): a chat JSONL file uploaded over
 * real HTTP to a running platform and timed until it is a `processed` dataset version, the way a
 * customer sees it. For each object store (the embedded filesystem one and an S3 server,
 * versitygw) it starts its own stack, and for each size it uploads
 *   - with the official `openai` client (`files.create`, multipart), polled with `files.retrieve`;
 *   - through the resumable upload API (parts in parallel, then complete);
 *   - through the portal, in Debian's Chromium driven by Playwright: the file chosen on the
 *     datasets page, timed from the click on Upload until the page shows the new version. The
 *     portal's progress (bytes sent, then lines validated) is recorded as the page showed it.
 * BENCH_PATHS chooses among them (default openai,resumable,portal).
 * It prints MB/s (file size ÷ time from the first byte sent to `processed`), how much the web
 * server's resident memory (its whole process group) grew meanwhile, sampled every 50 ms, and the
 * CPU seconds each upload cost: the client's (this process), the web server's main thread and
 * other threads, and the S3 server's (from /proc, per thread).
 */
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import OpenAI from 'openai';
import type { Logger } from '@edgetune/config';
import { progressSeen, recordProgress, signUp } from '../e2e/tests/upload-page';
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
  /** The portal only: the progress it showed, in words. */
  progress?: string;
  /** CPU seconds the upload cost, by who spent them. */
  cpu: CpuSplit;
  /** Machine-wide (/proc/vmstat) during the upload: pages scanned by direct reclaim (a process that needed memory freeing it itself), and major faults. */
  vm: VmCounters;
}

/** Machine-wide counters of memory pressure: a page cache squeezed makes every byte cost more. */
interface VmCounters {
  directScanned: number;
  majorFaults: number;
  /** MB read from disk: bytes that should have been in the page cache but were not. */
  diskReadMb: number;
}

function vmstat(): VmCounters {
  const v = new Map(readFileSync('/proc/vmstat', 'utf8').split('\n').map((l) => l.split(' ') as [string, string]));
  return { directScanned: Number(v.get('pgscan_direct') ?? 0), majorFaults: Number(v.get('pgmajfault') ?? 0), diskReadMb: Number(v.get('pgpgin') ?? 0) / 1024 };
}

/**
 * CPU seconds by who spent them: the client (this process: the official client, or the parts'
 * fetches; for the portal, Chromium and Playwright too), the web server's main thread and its other threads (dataset validation, libuv's pool,
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

/** Resident memory of every process in a process group (tsx runs the server in a child), in MB. */
function groupRssMb(pgid: number): number {
  return groupPids(pgid).reduce((n, pid) => n + pidRssMb(pid), 0);
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

/** CPU seconds so far of all of a process group's threads; 0 without a group. */
function groupCpuTotal(pgid: number | null | undefined): number {
  if (!pgid) return 0;
  const { main, other } = groupCpu(pgid);
  return main + other;
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

/** The platform's REST API as one caller: a key's bearer token, or the portal's session cookie. */
type Api = (method: 'GET' | 'DELETE', p: string) => Promise<{ status: number; body: unknown }>;

function keyApi(baseUrl: string, key: string): Api {
  return async (method, p) => {
    const r = await fetch(`${baseUrl}/api/v1${p}`, { method, headers: { authorization: `Bearer ${key}` } });
    return { status: r.status, body: await r.json() };
  };
}

function sessionApi(page: Page, baseUrl: string): Api {
  return async (method, p) => {
    // Writes from a session must come from the portal's origin.
    const r = await page.request.fetch(`${baseUrl}/api/v1${p}`, { method, headers: { origin: baseUrl } });
    return { status: r.status(), body: await r.json() };
  };
}

/** The Chromium a launch started: a child of this process (Playwright drives it in-process). */
function childChromium(): number | null {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid && /chrom/i.test(comm)) return Number(name);
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

interface Portal {
  browser: Browser;
  page: Page;
  api: Api;
  /** Chromium's process group (Playwright starts it detached), for its CPU. */
  pgid: number | null;
}

/** Chromium signed up to the portal as the owner of a new organization. */
async function openPortal(baseUrl: string): Promise<Portal> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`the portal path needs Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH), or leave it out: BENCH_PATHS=openai,resumable`);
  }
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
  const page = await browser.newPage({ baseURL: baseUrl });
  await signUp(page, 'Bench');
  return { browser, page, api: sessionApi(page, baseUrl), pgid: childChromium() };
}

/** Chooses the file on the datasets page and watches the progress the page shows (not timed). */
async function choosePortalFile(page: Page, file: string): Promise<void> {
  await page.goto('/datasets');
  await page.getByTestId('upload-input').setInputFiles(file);
  await recordProgress(page);
}

/** Clicks Upload and waits for the page to show the new version; returns the progress it showed. */
async function viaPortal(page: Page): Promise<string> {
  await page.getByTestId('upload-submit').click();
  const outcome = page.locator('[data-testid="upload-result"], [data-testid="upload-error"], [data-testid="upload-paused"]').first();
  await outcome.waitFor({ timeout: 30 * 60_000 });
  if ((await outcome.getAttribute('data-testid')) !== 'upload-result') throw new Error(`the portal showed: ${(await outcome.textContent())?.slice(0, 200)}`);
  const seen = await progressSeen(page);
  const checked = seen.validation.map((t) => Number(/(\d+) %/.exec(t)?.[1] ?? -1));
  const sent = seen.sending.length ? `upload progress shown up to ${Math.max(...seen.sending)} %` : 'no upload progress shown';
  const validated = seen.validation.length ? `validation progress shown up to ${Math.max(...checked)} % checked` : 'no validation progress shown';
  return `${sent}; ${validated}`;
}

export async function benchEndToEnd(opts: {
  files: { file: string; bytes: number }[];
  stores: string[];
  /** Which of openai, resumable and portal to run. */
  paths: string[];
  parallel: number;
  dir: string;
  log: Logger;
}): Promise<EndToEndRow[]> {
  const rows: EndToEndRow[] = [];
  for (const store of opts.stores) {
    const dataDir = path.join(opts.dir, `stack-${store}`);
    mkdirSync(dataDir, { recursive: true });
    let s3: S3Server | null = null;
    let portal: Portal | null = null;
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
      const api = keyApi(stack.baseUrl, key);
      const web = stack.processes.get('web')!;
      // Warm-up, not recorded: the first upload loads the tokenizer and compiles the route. The
      // trainer stages the base model's tokenizer at its start; uploads count tokens once it is there.
      const warm = path.join(dataDir, 'warm.jsonl');
      const line = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });
      writeFileSync(warm, `${line}\n`.repeat(100));
      for (let i = 0; ; i++) {
        await viaOpenAI(stack.baseUrl, key, warm);
        const counted = await tokensCounted(api);
        await dropDatasets(api);
        if (counted) break;
        if (i === 60) throw new Error('the platform never counted tokens: the base model tokenizer was not staged');
        await new Promise((r) => setTimeout(r, 2000));
      }
      await viaResumable(stack.baseUrl, key, warm, opts.parallel);
      await dropDatasets(api);
      if (opts.paths.includes('portal')) {
        portal = await openPortal(stack.baseUrl);
        await choosePortalFile(portal.page, warm);
        await viaPortal(portal.page);
        await dropDatasets(portal.api);
      }
      // Nothing else competes for the two cores: no job runs during an upload.
      for (const name of ['trainer', 'device-agent']) await stack.stopComponent(name);
      for (const { file, bytes } of opts.files) {
        const paths: { name: string; api: Api; prepare?: () => Promise<void>; run: () => Promise<string | void> }[] = [];
        if (opts.paths.includes('openai')) paths.push({ name: 'openai files.create', api, run: () => viaOpenAI(stack.baseUrl, key, file).then(() => undefined) });
        if (opts.paths.includes('resumable')) paths.push({ name: `resumable, ${opts.parallel} parts in flight`, api, run: () => viaResumable(stack.baseUrl, key, file, opts.parallel).then(() => undefined) });
        if (portal) {
          const { page } = portal;
          paths.push({ name: 'portal (Chromium)', api: portal.api, prepare: () => choosePortalFile(page, file), run: () => viaPortal(page) });
        }
        for (const { name, api: caller, prepare, run } of paths) {
          await prepare?.();
          const rssBefore = groupRssMb(web.pid!);
          const sampler = sampleRss(web.pid!);
          const browserCpu = () => groupCpuTotal(portal?.pgid);
          const cpu0 = { client: process.cpuUsage(), browser: browserCpu(), web: groupCpu(web.pid!), s3: groupCpuTotal(s3?.pid) };
          const vm0 = vmstat();
          const t0 = performance.now();
          let status = 'processed';
          let progress: string | undefined;
          try {
            progress = (await run()) ?? undefined;
          } catch (e) {
            status = `FAILED: ${(e as Error).message.slice(0, 200)}`;
          }
          const seconds = (performance.now() - t0) / 1000;
          const peak = sampler.stop();
          const client = process.cpuUsage(cpu0.client);
          const webCpu = groupCpu(web.pid!);
          const cpu: CpuSplit = {
            client: (client.user + client.system) / 1e6 + browserCpu() - cpu0.browser,
            webMain: webCpu.main - cpu0.web.main,
            webOther: webCpu.other - cpu0.web.other,
            s3: groupCpuTotal(s3?.pid) - cpu0.s3,
          };
          const vm1 = vmstat();
          const vm = { directScanned: vm1.directScanned - vm0.directScanned, majorFaults: vm1.majorFaults - vm0.majorFaults, diskReadMb: vm1.diskReadMb - vm0.diskReadMb };
          if (status === 'processed' && !(await tokensCounted(caller))) status = 'FAILED: tokens were not counted';
          rows.push({ store, path: name, mb: bytes / 1e6, seconds, rssBeforeMb: rssBefore, rssGrowthMb: peak - rssBefore, status, progress, cpu, vm });
          opts.log.info({ store, path: name, mb: bytes / 1e6, seconds, mbPerS: bytes / 1e6 / seconds, rssGrowthMb: peak - rssBefore, status, progress }, 'uploaded');
          // Each upload is a new dataset version; the next one must not be deduplicated away.
          await dropDatasets(caller);
        }
      }
    } finally {
      await portal?.browser.close();
      await stack.stop();
      await s3?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}

/** Deletes every dataset of the caller's organization, so the same bytes upload afresh. */
async function dropDatasets(api: Api): Promise<void> {
  const list = (await api('GET', '/datasets?limit=100')).body as { data: { id: string }[] };
  for (const d of list.data) {
    const r = await api('DELETE', `/datasets/${d.id}`);
    if (r.status !== 200) throw new Error(`deleting dataset ${d.id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/** Whether the newest dataset version's report says its tokens were counted with the real tokenizer. */
async function tokensCounted(api: Api): Promise<boolean> {
  const list = (await api('GET', '/datasets?limit=1')).body as { data: { id: string }[] };
  if (!list.data[0]) return false;
  const d = (await api('GET', `/datasets/${list.data[0].id}`)).body as {
    versions: { report: { stats?: { tokenizer?: { available?: boolean } } } | null }[];
  };
  return d.versions.every((v) => v.report?.stats?.tokenizer?.available === true);
}
