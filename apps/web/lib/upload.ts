'use client';
import type { ErrorDetail } from '@edgetune/contracts';

/**
 * The portal's uploader: the resumable REST API (`/api/v1/uploads`), so a dropped connection costs
 * at most one chunk and an upload interrupted by a reload continues from the server's offset.
 */

export interface ApiErrorBody {
  code: string;
  message: string;
  param: string | null;
  /** Validation errors name the line (or row) and field; the api may add the offending text. */
  details?: (ErrorDetail & { excerpt?: string; row?: number })[];
  [k: string]: unknown;
}

export interface UploadOptions {
  dataset?: string;
  format?: 'auto' | 'chat' | 'prompt_completion' | 'preference';
  /** CSV / Parquet: target field → source column. */
  columns?: Record<string, string>;
  baseModel?: string;
}

/** What `POST /api/v1/uploads/{id}/complete` answers: the version and its dataset (shapes owned by the api). */
export interface CompletedUpload {
  file: { id: string; filename?: string; bytes?: number; version?: number | null; [k: string]: unknown };
  dataset: { id: string; name?: string; [k: string]: unknown } | null;
  report?: unknown;
  /** True when the same bytes were already a version of this dataset (nothing new was stored). */
  reused?: boolean;
  [k: string]: unknown;
}

export type UploadPhase = 'starting' | 'sending' | 'retrying' | 'validating';

export interface UploadProgress {
  phase: UploadPhase;
  sent: number;
  total: number;
  /** While validating: bytes the server's validation has read so far. */
  validated?: number;
  uploadId: string | null;
  /** While retrying: the attempt that failed and when the next starts. */
  attempt?: number;
  retryInMs?: number;
  reason?: string;
}

export type UploadOutcome =
  | { ok: true; result: CompletedUpload }
  /** `resumable`: the staged bytes are still on the server; calling again with `resumeId` continues. */
  | { ok: false; status: number; error: ApiErrorBody; resumable: boolean; uploadId: string | null };

/** An upload this browser started and did not finish, remembered across reloads. */
export interface PendingUpload {
  id: string;
  name: string;
  size: number;
  lastModified: number;
  options: UploadOptions;
  startedAt: number;
}

type Range = [number, number];
interface Part {
  start: number;
  end: number;
  /** Failed sends so far. */
  attempt: number;
}

/** Parts sent at once: the server takes them in any order, and several hide each one's round trip. */
const PARALLEL_PARTS = 4;

/** The bytes of [0, total) not in `have` (sorted [start, end) ranges), cut into pieces of at most `size`. */
export function gapsOf(have: Range[], total: number, size: number): Range[] {
  const out: Range[] = [];
  let at = 0;
  for (const [a, b] of [...[...have].sort((x, y) => x[0] - y[0]), [total, total] as Range]) {
    for (let s = at; s < Math.min(a, total); s += size) out.push([s, Math.min(s + size, a, total)]);
    at = Math.max(at, b);
  }
  return out;
}

/** The bytes of [start, end) not in `have`. */
export function missingIn(have: Range[], start: number, end: number): Range[] {
  return gapsOf(have, end, Number.MAX_SAFE_INTEGER)
    .map(([a, b]): Range => [Math.max(a, start), b])
    .filter(([a, b]) => a < b);
}

const STORE_KEY = 'edgetune.pendingUploads';
/** Attempts per chunk before the upload pauses and waits for the user to resume it. */
const MAX_ATTEMPTS = 6;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export function pendingUploads(): PendingUpload[] {
  try {
    const v = JSON.parse(localStorage.getItem(STORE_KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as PendingUpload[]).filter((p) => p && typeof p.id === 'string') : [];
  } catch {
    return [];
  }
}

function savePending(list: PendingUpload[]) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(list));
  } catch {
    // storage full or disabled: resuming after a reload is then unavailable, the upload still works
  }
}

export function forgetPending(id: string) {
  savePending(pendingUploads().filter((p) => p.id !== id));
}

function remember(p: PendingUpload) {
  savePending([...pendingUploads().filter((x) => x.id !== p.id && !sameFile(x, p)), p]);
}

function sameFile(p: Pick<PendingUpload, 'name' | 'size' | 'lastModified'>, f: Pick<PendingUpload, 'name' | 'size' | 'lastModified'>): boolean {
  return p.name === f.name && p.size === f.size && p.lastModified === f.lastModified;
}

/** The unfinished upload of this very file (same name, size and modification time), if any. */
export function pendingFor(file: File): PendingUpload | undefined {
  return pendingUploads().find((p) => sameFile(p, { name: file.name, size: file.size, lastModified: file.lastModified }));
}

/** Aborts the upload on the server (its staged bytes are removed) and forgets it here. */
export async function discardUpload(id: string): Promise<void> {
  forgetPending(id);
  await fetch(`/api/v1/uploads/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => undefined);
}

interface HttpResult {
  status: number;
  body: unknown;
}

function apiError(r: HttpResult): ApiErrorBody {
  const err = (r.body as { error?: ApiErrorBody } | null)?.error;
  if (err && typeof err.message === 'string') return err;
  if (r.status === 0) return { code: 'network', message: 'The connection to the server was lost.', param: null };
  return { code: `http_${r.status}`, message: `The server answered HTTP ${r.status}.`, param: null };
}

/** Worth another try: the connection dropped, the server was briefly unavailable or busy. */
function transient(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

async function jsonRequest(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<HttpResult> {
  try {
    const res = await fetch(url, {
      method,
      signal,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed };
  } catch (e) {
    if (signal?.aborted) throw e;
    return { status: 0, body: null };
  }
}

/** One chunk, by XMLHttpRequest because fetch reports no upload progress. */
function putChunk(url: string, chunk: Blob, start: number, total: number, onSent: (n: number) => void, signal?: AbortSignal): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('content-range', `bytes ${start}-${start + chunk.size - 1}/${total}`);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => onSent(e.loaded);
    const onAbort = () => xhr.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.onload = () => {
      signal?.removeEventListener('abort', onAbort);
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ status: 0, body: null });
    };
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    xhr.send(chunk);
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new DOMException('Upload cancelled', 'AbortError'));
      },
      { once: true },
    );
  });
}

function offsetOf(body: unknown): number | null {
  const b = body as { offset?: unknown; error?: { offset?: unknown; details?: unknown } } | null;
  if (typeof b?.offset === 'number') return b.offset;
  if (typeof b?.error?.offset === 'number') return b.error.offset;
  return null;
}

/**
 * Uploads `file`, or continues the upload `resumeId` of the same file from the server's offset.
 * A failed chunk is retried with backoff; when the connection stays down the upload pauses with
 * `resumable: true` and stays remembered (localStorage) so a later call — even after a reload — continues it.
 */
export async function uploadDataset(
  file: File,
  options: UploadOptions,
  opts: { resumeId?: string | null; onProgress: (p: UploadProgress) => void; signal?: AbortSignal },
): Promise<UploadOutcome> {
  const { onProgress, signal } = opts;
  const total = file.size;
  let id: string | null = null;
  let offset = 0;
  /** What the server already has, when resuming: only the gaps are sent. */
  let initialRanges: Range[] | null = null;
  let chunkSize = 8 * 1024 * 1024;
  const fail = (r: HttpResult, resumable: boolean): UploadOutcome => {
    if (!resumable && id) forgetPending(id);
    return { ok: false, status: r.status, error: apiError(r), resumable, uploadId: id };
  };

  onProgress({ phase: 'starting', sent: 0, total, uploadId: opts.resumeId ?? null });
  if (opts.resumeId) {
    const r = await jsonRequest('GET', `/api/v1/uploads/${encodeURIComponent(opts.resumeId)}`, undefined, signal);
    const s = r.body as { offset?: number; size?: number | null; status?: string; chunkSize?: number; ranges?: Range[] } | null;
    if (r.status === 200 && s && (s.status === 'open' || s.status === 'completing' || s.status === 'completed') && typeof s.offset === 'number' && (s.size == null || s.size === total)) {
      id = opts.resumeId;
      // Completing or completed (the answer was lost): asking to complete again returns the version.
      offset = s.status === 'open' ? s.offset : total;
      if (s.status === 'open' && Array.isArray(s.ranges)) initialRanges = s.ranges;
      if (typeof s.chunkSize === 'number' && s.chunkSize > 0) chunkSize = s.chunkSize;
    } else if (r.status === 0) {
      id = opts.resumeId;
      return fail(r, true);
    } else {
      // Expired, aborted or finished elsewhere: start afresh.
      forgetPending(opts.resumeId);
    }
  }
  if (!id) {
    const r = await jsonRequest(
      'POST',
      '/api/v1/uploads',
      {
        filename: file.name,
        purpose: 'fine-tune',
        size: total,
        ...(options.dataset ? { dataset: options.dataset } : {}),
        ...(options.format && options.format !== 'auto' ? { format: options.format } : {}),
        ...(options.columns && Object.keys(options.columns).length ? { columns: options.columns } : {}),
        ...(options.baseModel ? { baseModel: options.baseModel } : {}),
      },
      signal,
    );
    const b = r.body as { id?: string; offset?: number; chunkSize?: number } | null;
    if (r.status < 200 || r.status >= 300 || !b?.id) return fail(r, false);
    id = b.id;
    offset = b.offset ?? 0;
    if (typeof b.chunkSize === 'number' && b.chunkSize > 0) chunkSize = b.chunkSize;
    remember({ id, name: file.name, size: total, lastModified: file.lastModified, options, startedAt: Date.now() });
  }

  const url = `/api/v1/uploads/${encodeURIComponent(id)}`;
  let have: Range[] = initialRanges ?? [[0, offset]];
  /** How far the server's validation had read when the last part was in: it follows the parts as they arrive. */
  let validatedSoFar = 0;
  for (let round = 1; ; round++) {
    const stoppedWith = await sendParts(url, have);
    if (stoppedWith) return stoppedWith;
    // Every part was answered: the server's own account says whether a byte is still missing.
    const st = await jsonRequest('GET', url, undefined, signal);
    const b = st.body as { offset?: unknown; ranges?: unknown; status?: unknown; validated?: unknown } | null;
    if (st.status === 200 && typeof b?.validated === 'number') validatedSoFar = b.validated;
    if (st.status !== 200 || b?.status !== 'open' || b.offset === total || !Array.isArray(b.ranges) || round >= 3) break;
    have = b.ranges as Range[];
  }

  onProgress({ phase: 'validating', sent: total, total, validated: validatedSoFar, uploadId: id });
  // The server records how far validation has read; the portal shows it while completion runs,
  // asking soon after the last part (a small file is checked within a second) and then every second.
  const watching = new AbortController();
  const uploadId = id;
  void (async () => {
    for (let wait = 250; !watching.signal.aborted; wait = 1000) {
      await sleep(wait, watching.signal).catch(() => undefined);
      if (watching.signal.aborted) return;
      const s = await jsonRequest('GET', url, undefined, watching.signal).catch(() => null);
      const validated = (s?.body as { validated?: unknown } | null)?.validated;
      if (!watching.signal.aborted && typeof validated === 'number') onProgress({ phase: 'validating', sent: total, total, validated, uploadId });
    }
  })();
  try {
    return await complete();
  } finally {
    watching.abort();
  }

  /**
   * Sends every part the server lacks, PARALLEL_PARTS at once. A part whose send failed is retried
   * with backoff, after asking the server which of its bytes arrived (only the rest is sent again);
   * when one keeps failing the upload pauses (resumable). Returns an outcome only when it stops.
   */
  async function sendParts(partUrl: string, have: Range[]): Promise<UploadOutcome | null> {
    const uploadId = id;
    const queue: Part[] = gapsOf(have, total, chunkSize).map(([start, end]) => ({ start, end, attempt: 0 }));
    let confirmed = total - queue.reduce((n, p) => n + p.end - p.start, 0);
    const loaded = new Map<number, number>();
    let stopped: { r: HttpResult; resumable: boolean } | null = null;
    // Parts in flight end together when the upload pauses or fails, and when the user cancels.
    const parts = new AbortController();
    const cancel = () => parts.abort();
    signal?.addEventListener('abort', cancel, { once: true });
    const sent = () => confirmed + [...loaded.values()].reduce((a, b) => a + b, 0);
    const stop = (r: HttpResult, resumable: boolean) => {
      stopped ??= { r, resumable };
      parts.abort();
    };
    /** The bytes of [start, end) the server does not have yet, or null when it cannot be asked. */
    const missingOf = async (start: number, end: number): Promise<Range[] | null> => {
      const st = await jsonRequest('GET', partUrl, undefined, parts.signal).catch(() => null);
      const ranges = (st?.body as { ranges?: unknown } | null)?.ranges;
      if (st?.status !== 200 || !Array.isArray(ranges)) return null;
      return missingIn(ranges as Range[], start, end);
    };
    const requeue = (p: Part, missing: Range[]) => {
      confirmed += p.end - p.start - missing.reduce((n, [a, b]) => n + b - a, 0);
      for (const [a, b] of missing) queue.push({ start: a, end: b, attempt: p.attempt });
    };

    const sendOne = async (p: Part): Promise<void> => {
      loaded.set(p.start, 0);
      let r: HttpResult;
      try {
        r = await putChunk(partUrl, file.slice(p.start, p.end), p.start, total, (n) => {
          loaded.set(p.start, n);
          onProgress({ phase: 'sending', sent: sent(), total, uploadId });
        }, parts.signal);
      } finally {
        loaded.delete(p.start);
      }
      if (r.status >= 200 && r.status < 300) {
        confirmed += p.end - p.start;
        onProgress({ phase: 'sending', sent: sent(), total, uploadId });
        return;
      }
      if (r.status === 409) {
        // Some of it is there already (an answer got lost, or another part overlapped): send the rest.
        const missing = await missingOf(p.start, p.end);
        if (missing) return requeue(p, missing);
        return stop(r, true);
      }
      if (!transient(r.status)) return stop(r, false);
      const attempt = p.attempt + 1;
      if (attempt >= MAX_ATTEMPTS) return stop(r, true);
      const wait = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)];
      onProgress({ phase: 'retrying', sent: sent(), total, uploadId, attempt, retryInMs: wait, reason: apiError(r).message });
      await sleep(wait, parts.signal);
      // Part of the failed part may have been stored: send only what is missing of it.
      requeue({ ...p, attempt }, (await missingOf(p.start, p.end)) ?? [[p.start, p.end]]);
    };

    const worker = async () => {
      while (!stopped && queue.length) {
        try {
          await sendOne(queue.shift()!);
        } catch (e) {
          // Pausing or failing ends the other parts in flight; only the user's cancel goes on up.
          if (signal?.aborted || !stopped) throw e;
        }
      }
    };
    try {
      // A part put back (retried, or cut short) may outlive the workers that found the queue empty: go round again.
      while (queue.length && !stopped) await Promise.all(Array.from({ length: PARALLEL_PARTS }, worker));
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    if (stopped) return fail((stopped as { r: HttpResult }).r, (stopped as { resumable: boolean }).resumable);
    return null;
  }

  async function complete(): Promise<UploadOutcome> {
    for (let n = 1; ; ) {
      const r = await jsonRequest('POST', `${url}/complete`, {}, signal);
      if (r.status >= 200 && r.status < 300 && (r.body as CompletedUpload | null)?.file) {
        forgetPending(uploadId);
        return { ok: true, result: r.body as CompletedUpload };
      }
      if (r.status === 409) {
        // A retried request finds the first one still validating: wait for it, then ask again.
        const s = await jsonRequest('GET', url, undefined, signal);
        const st = (s.body as { status?: string } | null)?.status;
        if (st === 'completing' || st === 'completed') {
          await sleep(2000, signal);
          continue;
        }
        if (st !== 'open') return fail(r, false);
      } else if (!transient(r.status)) return fail(r, false);
      if (n++ >= MAX_ATTEMPTS) return fail(r, true);
      await sleep(BACKOFF_MS[Math.min(n - 2, BACKOFF_MS.length - 1)], signal);
    }
  }
}
