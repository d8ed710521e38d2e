/**
 * Dataset validation off the caller's event loop. Validating is CPU work in the gigabytes; done on
 * the web server's own thread it stalls every other request while it runs (see `npm run
 * bench:api`). `ingestOffThread` hands the upload to one of a few long-lived worker threads (each
 * keeps its loaded tokenizers) and resolves with the same result or error `ingestDataset` would.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import { findRepoRoot } from '@edgetune/config';
import { DomainError, type ErrorDetail, type ErrorCode } from '@edgetune/contracts';
import { ingestDataset, type IngestOptions, type IngestResult } from './ingest';

export type ThreadRequest =
  | { kind: 'ingest'; id: number; inputPath: string; outputPath: string; opts: Omit<IngestOptions, 'signal'> }
  | { kind: 'abort'; id: number };

export type ThreadReply =
  | { kind: 'done'; id: number; result: IngestResult; threadId: number }
  | { kind: 'failed'; id: number; domain: { code: ErrorCode; message: string; param: string | null; details: ErrorDetail[] } }
  | { kind: 'failed'; id: number; error: { message: string; stack?: string } };

export interface OffThreadResult extends IngestResult {
  /** The worker thread that validated the upload (0: the caller's own thread). */
  threadId: number;
}

interface Pending {
  resolve(r: OffThreadResult): void;
  reject(e: unknown): void;
  outputPath: string;
}

interface ValidationThread {
  worker: ThreadWorker;
  pending: Map<number, Pending>;
}

/** Default thread count: the cores left after the web server's own, at least 1, at most 4. */
const defaultDatasetThreads = (): number => Math.max(1, Math.min(4, availableParallelism() - 1));

const threads: ValidationThread[] = [];
let nextId = 1;

const SOURCE_DIR = path.join('packages', 'datasets', 'src');

/**
 * The thread's entry file. Next.js bundles this module elsewhere (the entry is not bundled), so
 * where this module is not in its source folder the entry is found from the repository root.
 */
function entryPath(): string {
  const url = import.meta.url;
  const here = typeof url === 'string' && url.startsWith('file:') ? path.dirname(fileURLToPath(url)) : '';
  return path.join(here.endsWith(SOURCE_DIR) ? here : path.join(findRepoRoot(), SOURCE_DIR), 'ingest-thread.mjs');
}

function startThread(): ValidationThread {
  // Taken at run time so that Next.js does not try to bundle the thread's entry (it is loaded from
  // the repository as it is, see entryPath); Turbopack ignores no comment on `new Worker`.
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const t: ValidationThread = { worker: new Worker(entryPath()), pending: new Map() };
  t.worker.unref();
  t.worker.on('message', (reply: ThreadReply) => {
    const p = t.pending.get(reply.id);
    if (!p) return;
    settle(t, reply.id);
    if (reply.kind === 'done') p.resolve({ ...reply.result, threadId: reply.threadId });
    else if ('domain' in reply) p.reject(new DomainError(reply.domain.code, reply.domain.message, { param: reply.domain.param, details: reply.domain.details }));
    else p.reject(Object.assign(new Error(reply.error.message), { stack: reply.error.stack }));
  });
  const lost = (why: string) => {
    const i = threads.indexOf(t);
    if (i >= 0) threads.splice(i, 1);
    for (const [id, p] of t.pending) {
      settle(t, id);
      // The thread cannot clean up after itself any more.
      void rm(p.outputPath, { force: true }).catch(() => undefined);
      p.reject(new Error(`The dataset validation thread stopped (${why}); the upload was not stored. Please retry.`));
    }
  };
  t.worker.on('error', (e) => lost(e.message));
  t.worker.on('exit', (code) => lost(`exit code ${code}`));
  threads.push(t);
  return t;
}

function settle(t: ValidationThread, id: number): void {
  t.pending.delete(id);
  // An idle thread must not keep the process alive; a busy one must (its caller awaits it).
  if (t.pending.size === 0) t.worker.unref();
}

/** The thread with the least work, starting a new one while under `limit`. */
function pick(limit: number): ValidationThread {
  const idle = threads.find((t) => t.pending.size === 0);
  if (idle) return idle;
  if (threads.length < limit) return startThread();
  return threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
}

/**
 * `ingestDataset` on a validation thread. `maxThreads` is the most threads kept (unset: the cores
 * but one, 1 to 4; 0: validate on the caller's thread, as before). The signal aborts the thread's work; the output file is removed on
 * any failure, as `ingestDataset` does.
 */
export function ingestOffThread(inputPath: string, outputPath: string, opts: IngestOptions, maxThreads = defaultDatasetThreads()): Promise<OffThreadResult> {
  if (maxThreads <= 0) return ingestDataset(inputPath, outputPath, opts).then((r) => ({ ...r, threadId: 0 }));
  const { signal, ...rest } = opts;
  signal?.throwIfAborted();
  const t = pick(maxThreads);
  const id = nextId++;
  return new Promise<OffThreadResult>((resolve, reject) => {
    t.pending.set(id, { resolve, reject, outputPath });
    t.worker.ref();
    const request: ThreadRequest = { kind: 'ingest', id, inputPath, outputPath, opts: rest };
    t.worker.postMessage(request);
    signal?.addEventListener('abort', () => t.pending.has(id) && t.worker.postMessage({ kind: 'abort', id } satisfies ThreadRequest), { once: true });
  });
}

/** Stops the validation threads (tests; a server shutting down). Work in flight fails. */
export async function stopDatasetThreads(): Promise<void> {
  await Promise.all(threads.splice(0).map((t) => t.worker.terminate()));
}
