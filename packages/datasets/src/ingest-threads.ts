/**
 * Dataset validation off the caller's event loop. Validating is CPU work in the gigabytes; done on
 * the web server's own thread it stalls every other request while it runs (see `npm run
 * bench:api`). `ingestStreamOffThread` hands the upload to one of a few long-lived worker threads
 * (each keeps its loaded tokenizers) and resolves with the same result or error `ingest` would.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import { findRepoRoot } from '@edgetune/config';
import { DomainError, type ErrorDetail, type ErrorCode } from '@edgetune/contracts';
import type { Writable } from 'node:stream';
import { ingest, type IngestOptions, type IngestResult } from './ingest';
import { ingestIntoStore } from './into-store';

export type ThreadRequest =
  /**
   * An upload: its bytes follow as `chunk` messages, then `end`. With `storeKey` the thread stores
   * the normalized output itself; without, it sends it back as `out` messages.
   */
  | { kind: 'stream'; id: number; opts: Omit<IngestOptions, 'signal'>; storeKey?: string }
  | { kind: 'chunk'; id: number; chunk: Uint8Array }
  | { kind: 'end'; id: number }
  /** The caller has written `bytes` more of the normalized output: the thread may send that much again. */
  | { kind: 'out-ack'; id: number; bytes: number }
  | { kind: 'abort'; id: number };

export type ThreadReply =
  /** The thread has taken `bytes` of input: the caller may send that much again. */
  | { kind: 'in-ack'; id: number; bytes: number }
  | { kind: 'out'; id: number; chunk: Uint8Array }
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
  /** The flow messages (`in-ack`, `out`). */
  flow(reply: Extract<ThreadReply, { kind: 'in-ack' | 'out' }>): void;
}

/**
 * Bytes of a streamed upload in flight to a thread, and of normalized output in flight back,
 * before the sender waits: enough to keep both sides busy, small enough to keep memory flat.
 */
export const STREAM_WINDOW_BYTES = 8 << 20;

/** A chunk as a view over an ArrayBuffer of its own, which can be transferred without copying it again. */
export function ownBuffer(chunk: Uint8Array): Uint8Array {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer) return chunk;
  return new Uint8Array(chunk);
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
    if (reply.kind === 'in-ack' || reply.kind === 'out') {
      p.flow(reply);
      return;
    }
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
 * `ingest` on a validation thread: `input` is read here and its chunks handed to the thread as
 * they arrive, the normalized output comes back into `output` as it is made, each way at most
 * STREAM_WINDOW_BYTES ahead of its reader, so validation overlaps receiving and storing and memory
 * stays flat. Resolves once the thread's result is in and `output` has ended; on failure `output`
 * is destroyed and the promise rejects with the error that stopped it: the input's own (a size
 * limit, a dropped connection), else the thread's (a DomainError naming the bad line).
 */
export function ingestStreamOffThread(
  input: AsyncIterable<Uint8Array>,
  /** Where the normalized output goes: a stream of this thread's, or an object the validation thread stores itself (ingestIntoStore). */
  output: Writable | { storeKey: string },
  opts: IngestOptions,
  maxThreads = defaultDatasetThreads(),
  /**
   * The input's chunks are the thread's to take: each is moved to it, not copied. The caller must
   * not touch a chunk once it has yielded it, nor yield views sharing memory with anything else.
   */
  handOver = false,
): Promise<OffThreadResult> {
  if (maxThreads <= 0) {
    const here = 'storeKey' in output ? ingestIntoStore(input, output.storeKey, opts) : ingest(input, output, opts);
    return here.then((r) => ({ ...r, threadId: 0 }));
  }
  const stream = 'storeKey' in output ? null : output;
  const { signal, ...rest } = opts;
  signal?.throwIfAborted();
  const t = pick(maxThreads);
  const id = nextId++;
  let settled = false;
  let inputError: unknown = null;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const resume = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const abort = () => {
    if (t.pending.has(id)) t.worker.postMessage({ kind: 'abort', id } satisfies ThreadRequest);
  };
  return new Promise<OffThreadResult>((resolve, reject) => {
    const finish = (fn: () => void) => {
      settled = true;
      resume();
      signal?.removeEventListener('abort', abort);
      fn();
    };
    t.pending.set(id, {
      resolve: (r) =>
        finish(() => {
          if (!stream) return resolve(r);
          stream.end(() => resolve(r));
          stream.once('error', reject);
        }),
      reject: (e) =>
        finish(() => {
          stream?.destroy();
          reject(inputError ?? e);
        }),
      flow: (reply) => {
        if (reply.kind === 'in-ack') {
          inFlight -= reply.bytes;
          if (inFlight <= STREAM_WINDOW_BYTES) resume();
          return;
        }
        if (!stream) return;
        const bytes = reply.chunk.byteLength;
        // Acknowledged once the output has taken it, so a slow store slows the thread down.
        stream.write(Buffer.from(reply.chunk.buffer, reply.chunk.byteOffset, bytes), (err) => {
          if (err) abort();
          else if (t.pending.has(id)) t.worker.postMessage({ kind: 'out-ack', id, bytes } satisfies ThreadRequest);
        });
      },
    });
    t.worker.ref();
    t.worker.postMessage({ kind: 'stream', id, opts: rest, ...(stream ? {} : { storeKey: (output as { storeKey: string }).storeKey }) } satisfies ThreadRequest);
    signal?.addEventListener('abort', abort, { once: true });
    void (async () => {
      try {
        for await (const chunk of input) {
          if (settled) break;
          // Else a copy: the caller may still be using its buffer (writing it to disk, say).
          const own = handOver ? chunk : new Uint8Array(chunk);
          inFlight += own.byteLength;
          t.worker.postMessage({ kind: 'chunk', id, chunk: own } satisfies ThreadRequest, [own.buffer as ArrayBuffer]);
          while (inFlight > STREAM_WINDOW_BYTES && !settled) await new Promise<void>((r) => (wake = r));
        }
        if (!settled) t.worker.postMessage({ kind: 'end', id } satisfies ThreadRequest);
      } catch (e) {
        // The thread is told to stop; its answer rejects the promise, with this error.
        inputError = e;
        abort();
      }
    })();
  });
}

/** Stops the validation threads (tests; a server shutting down). Work in flight fails. */
export async function stopDatasetThreads(): Promise<void> {
  await Promise.all(threads.splice(0).map((t) => t.worker.terminate()));
}
