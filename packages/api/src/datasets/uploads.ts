/**
 * Resumable (chunked) uploads: a client creates an upload with the file's size, sends the bytes
 * in order with `Content-Range`, can ask for the offset to continue after a dropped connection,
 * and completes it, which turns the staged bytes into a dataset version. Validation follows the
 * parts as they arrive (upload-follower.ts), so completing waits only for the last of them.
 * Staged bytes live at `<DATA_DIR>/uploads/<org>/<upload id>.part`; uploads idle for 24 hours are
 * swept (file and row) whenever a new upload is created.
 */
import { mkdir, open, readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { and, eq, inArray, lt } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { DomainError, newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { logger } from '../logger';
import { assertQuota } from '../billing/account';
import { authorize, findOwned, orgScope, type Caller } from '../tenant';
import { checkFields, checkFilename, createVersion, findLiveFile, finishVersion, type CheckedFields, type VersionFields, type VersionResult } from './files';
import { dropFollower, followUpload, takeFollower } from './upload-follower';
import { MAX_CHUNK_BYTES, UPLOAD_CHUNK_BYTES, UPLOAD_TTL_MS, type StoredError } from '@edgetune/contracts';
import { asBuffer, removeStaged, stagingDir, stagingRoot, tooLarge, type ByteSource } from './staging';

export type UploadRow = typeof schema.uploads.$inferSelect;


export function uploadStagingPath(orgId: string, uploadId: string): string {
  return path.join(stagingDir(orgId), `${uploadId}.part`);
}

/** 409 that tells the client where to continue. */
export class UploadOffsetConflict extends DomainError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super('conflict', message, { param: 'Content-Range', details: [{ field: 'offset', message: String(offset) }] });
  }
}

export interface CreateUploadInput extends VersionFields {
  filename: string;
  /** Total bytes the client will send. */
  size: number;
}

/**
 * Removes expired uploads of every organization (their staged bytes, then their rows), and staged
 * files a crashed process left behind (older than the expiry, belonging to no live upload).
 */
export async function sweepExpiredUploads(now = new Date()): Promise<number> {
  // A maintenance pass over all tenants: it only deletes abandoned staging state and returns nothing.
  const expired = await db().select({ id: schema.uploads.id, orgId: schema.uploads.orgId }).from(schema.uploads).where(lt(schema.uploads.expiresAt, now));
  if (expired.length) {
    await Promise.all(expired.map((u) => dropFollower(u.id, 'the upload expired')));
    await removeStaged(...expired.map((u) => uploadStagingPath(u.orgId, u.id)));
    await db()
      .delete(schema.uploads)
      .where(and(inArray(schema.uploads.id, expired.map((u) => u.id)), lt(schema.uploads.expiresAt, now)));
  }
  return expired.length + (await sweepOrphanedStaging(now));
}

/**
 * Sweeps abandoned uploads in the background of the web server, at start and every `everyMs`,
 * so nothing waits for someone to start another upload. Returns a function that stops it.
 */
export function startUploadSweeper(everyMs = 10 * 60_000): () => void {
  const run = () =>
    sweepExpiredUploads()
      .then((n) => n && logger.info({ removed: n }, 'swept abandoned uploads'))
      .catch((err) => logger.error({ err }, 'sweeping expired uploads failed'));
  void run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function sweepOrphanedStaging(now: Date): Promise<number> {
  const root = stagingRoot();
  const cutoff = now.getTime() - UPLOAD_TTL_MS;
  const old: { file: string; uploadId: string | null }[] = [];
  let orgs: string[] = [];
  try {
    orgs = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  for (const org of orgs) {
    let names: string[] = [];
    try {
      names = await readdir(path.join(root, org));
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(root, org, name);
      const s = await stat(file).catch(() => null);
      if (s?.isFile() && s.mtimeMs < cutoff) old.push({ file, uploadId: /^(upl_[A-Za-z0-9]+)\.part$/.exec(name)?.[1] ?? null });
    }
  }
  if (!old.length) return 0;
  const ids = old.map((o) => o.uploadId).filter((id): id is string => !!id);
  const live = new Set(ids.length ? (await db().select({ id: schema.uploads.id }).from(schema.uploads).where(inArray(schema.uploads.id, ids))).map((r) => r.id) : []);
  const orphans = old.filter((o) => !o.uploadId || !live.has(o.uploadId)).map((o) => o.file);
  await removeStaged(...orphans);
  return orphans.length;
}

export async function createUpload(caller: Caller, input: CreateUploadInput): Promise<UploadRow> {
  authorize(caller, 'upload');
  const filename = checkFilename(input.filename);
  const size = input.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new DomainError('invalid_request', "Invalid 'size': expected the file's size in bytes (a non-negative integer).", { param: 'size' });
  }
  const maxBytes = loadConfig().MAX_UPLOAD_BYTES;
  if (size > maxBytes) throw tooLarge(maxBytes);
  await assertQuota(caller.orgId, 'stored_bytes', size);
  const fields = checkFields({ ...input, purpose: input.purpose ?? 'fine-tune' }, true);
  await sweepExpiredUploads().catch((err) => logger.error({ err }, 'sweeping expired uploads failed'));

  const id = newId('upload');
  const file = uploadStagingPath(caller.orgId, id);
  await mkdir(path.dirname(file), { recursive: true });
  await (await open(file, 'wx')).close();
  try {
    const [row] = await db()
      .insert(schema.uploads)
      .values({
        id,
        orgId: caller.orgId,
        createdBy: caller.userId,
        filename,
        purpose: fields.purpose!,
        options: { dataset: fields.dataset, format: fields.format, columns: fields.columns ?? null, baseModel: fields.baseModel ?? null },
        totalBytes: size,
        receivedBytes: 0,
        status: 'open',
        expiresAt: new Date(Date.now() + UPLOAD_TTL_MS),
      })
      .returning();
    return row;
  } catch (e) {
    await removeStaged(file);
    throw e;
  }
}

async function findUpload(caller: Caller, id: string): Promise<UploadRow> {
  const row = await findOwned(caller, schema.uploads, id, 'upload');
  return row;
}

function assertOpen(u: UploadRow): void {
  if (u.expiresAt.getTime() < Date.now()) {
    throw new DomainError('conflict', `Upload '${u.id}' has expired (no activity for 24 hours); start a new upload.`, { param: 'id' });
  }
  if (u.status !== 'open') {
    const why = u.status === 'completed' ? 'is already completed' : u.status === 'completing' ? 'is being completed' : u.status === 'failed' ? 'has failed' : 'was aborted';
    throw new DomainError('conflict', `Upload '${u.id}' ${why}; it accepts no more bytes.`, { param: 'id' });
  }
}

/** `bytes START-END/TOTAL` → inclusive range; a zero-byte upload has nothing to PUT. */
export function parseContentRange(header: string | null): { start: number; end: number; total: number } {
  const m = header ? /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(header) : null;
  if (!m) {
    throw new DomainError('invalid_request', "Missing or malformed 'Content-Range' header; expected 'bytes START-END/TOTAL' (END inclusive).", { param: 'Content-Range' });
  }
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || !Number.isSafeInteger(total) || end < start || end >= total) {
    throw new DomainError('invalid_request', `Invalid 'Content-Range' ${header}: END must be ≥ START and < TOTAL.`, { param: 'Content-Range' });
  }
  return { start, end, total };
}

/** Parts of uploads being written in this process, by upload: [start, end) each. */
const writing = new Map<string, [number, number][]>();

type Range = [number, number];

/** The ranges that arrived so far (rows from before parts carry only their contiguous prefix). */
function rangesOf(u: UploadRow): Range[] {
  if (u.receivedRanges.length) return u.receivedRanges;
  return u.receivedBytes > 0 ? [[0, u.receivedBytes]] : [];
}

/** `ranges` with `r` added, sorted, touching ranges merged. */
export function mergeRange(ranges: Range[], r: Range): Range[] {
  if (r[1] <= r[0]) return ranges;
  const out: Range[] = [];
  let [s, e] = r;
  let placed = false;
  for (const [a, b] of ranges) {
    if (b < s) out.push([a, b]);
    else if (a > e) {
      if (!placed) out.push([s, e]);
      placed = true;
      out.push([a, b]);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}

const overlaps = (ranges: Range[], [s, e]: Range): boolean => ranges.some(([a, b]) => a < e && s < b);

/** Bytes from 0 without a gap. */
const prefixOf = (ranges: Range[]): number => (ranges[0]?.[0] === 0 ? ranges[0][1] : 0);

/**
 * Writes one part at its place. Parts may come in any order and several at once (a client sends
 * parts in parallel); a part that overlaps bytes already received or being received is refused
 * with the offset to continue from. Bytes that reached the disk count even when the connection
 * drops mid-part, so a client resends only the rest.
 */
export async function putChunk(
  caller: Caller,
  id: string,
  input: { contentRange: string | null; contentLength?: number | null; body: ByteSource },
): Promise<{ offset: number; size: number }> {
  authorize(caller, 'upload');
  const u = await findUpload(caller, id);
  assertOpen(u);
  const total = u.totalBytes ?? 0;
  const { start, end, total: declaredTotal } = parseContentRange(input.contentRange);
  if (declaredTotal !== total) {
    throw new DomainError('invalid_request', `Content-Range total ${declaredTotal} differs from the upload's size ${total}.`, { param: 'Content-Range' });
  }
  const length = end - start + 1;
  if (length > MAX_CHUNK_BYTES) throw new DomainError('payload_too_large', `A chunk may be at most ${MAX_CHUNK_BYTES} bytes.`, { param: 'Content-Range' });
  if (input.contentLength != null && input.contentLength !== length) {
    throw new DomainError('invalid_request', `Content-Length ${input.contentLength} does not match the Content-Range length ${length}.`, { param: 'Content-Length' });
  }
  const part: Range = [start, end + 1];
  if (start < u.receivedBytes || overlaps(rangesOf(u), part)) {
    throw new UploadOffsetConflict(`Bytes ${start}-${end} overlap bytes already received; the upload continues at byte ${u.receivedBytes}; resend from there.`, u.receivedBytes);
  }
  const inFlight = writing.get(id) ?? [];
  if (overlaps(inFlight, part)) throw new UploadOffsetConflict(`Bytes ${start}-${end} of upload '${id}' are being received; retry when that part is done.`, u.receivedBytes);
  inFlight.push(part);
  writing.set(id, inFlight);
  let written = 0;
  let failure: unknown = null;
  const file = uploadStagingPath(caller.orgId, id);
  try {
    // Each piece is written before the next is read: when the connection drops, everything that
    // arrived is on disk and counted.
    const fh = await open(file, 'r+');
    try {
      for await (const chunk of input.body) {
        const buf = asBuffer(chunk);
        if (written + buf.length > length) {
          throw new DomainError('invalid_request', `The chunk is longer than its Content-Range (${length} bytes).`, { param: 'Content-Range' });
        }
        let done = 0;
        while (done < buf.length) {
          const { bytesWritten } = await fh.write(buf, done, buf.length - done, start + written + done);
          done += bytesWritten;
        }
        written += buf.length;
      }
    } catch (e) {
      failure = e;
    } finally {
      await fh.close();
    }
    const offset = start + written;
    // Parts finishing at once each add their range under the row's lock.
    const prefix = await db().transaction(async (tx) => {
      const [row] = await tx.select().from(schema.uploads).where(orgScope(caller, schema.uploads, eq(schema.uploads.id, id))).for('update');
      if (!row || row.status !== 'open') return row?.receivedBytes ?? 0;
      const ranges = mergeRange(rangesOf(row), [start, offset]);
      const receivedBytes = prefixOf(ranges);
      await tx
        .update(schema.uploads)
        .set({ receivedRanges: ranges, receivedBytes, updatedAt: new Date(), expiresAt: new Date(Date.now() + UPLOAD_TTL_MS) })
        .where(orgScope(caller, schema.uploads, eq(schema.uploads.id, id)));
      return receivedBytes;
    });
    if (prefix > 0 && total > 0) {
      followUpload(caller, { id, file, total, filename: u.filename, fields: () => checkFields({ ...u.options, purpose: u.purpose }, true), onProgress: progressRecorder(caller, id, total) }, prefix);
    }
    if (failure) throw failure;
    if (written < length) {
      throw new UploadOffsetConflict(`The chunk ended after ${written} of ${length} bytes; continue from byte ${offset}.`, offset);
    }
    // In order, the next part starts here; with parts in parallel, this is the first gap.
    return { offset: prefix, size: total };
  } finally {
    const left = (writing.get(id) ?? []).filter((r) => r !== part);
    if (left.length) writing.set(id, left);
    else writing.delete(id);
  }
}

export interface UploadStatus {
  id: string;
  filename: string;
  offset: number;
  size: number;
  status: UploadRow['status'];
  /** Bytes received, in any order (offset counts only those without a gap from 0). */
  received: number;
  /** The received bytes as sorted [start, end) ranges: a client sending parts in parallel resends only the gaps. */
  ranges: [number, number][];
  /** Bytes validation has read so far: it follows the parts as they arrive, and finishes on completion. */
  validated: number;
  fileId: string | null;
  error: StoredError | null;
  chunkSize: number;
  expiresAt: Date;
  createdAt: Date;
}

export function uploadStatusOf(u: UploadRow): UploadStatus {
  return {
    id: u.id,
    filename: u.filename,
    offset: u.receivedBytes,
    size: u.totalBytes ?? 0,
    status: u.status,
    received: rangesOf(u).reduce((n, [a, b]) => n + b - a, 0),
    ranges: rangesOf(u).map(([a, b]) => [a, b]),
    validated: u.status === 'completed' ? (u.totalBytes ?? 0) : u.validatedBytes,
    fileId: u.fileId,
    error: u.error ?? null,
    chunkSize: UPLOAD_CHUNK_BYTES,
    expiresAt: u.expiresAt,
    createdAt: u.createdAt,
  };
}

export async function getUpload(caller: Caller, id: string): Promise<UploadStatus> {
  authorize(caller, 'read');
  return uploadStatusOf(await findUpload(caller, id));
}

function errorRecord(e: unknown): StoredError {
  if (e instanceof DomainError) return { code: e.code, message: e.message, param: e.param, details: e.details };
  return { code: 'internal', message: 'The server had an error while processing the upload.', param: null, details: [] };
}

/**
 * Validates the staged bytes and creates the dataset version. Completing twice returns the same
 * version; completing before every byte arrived fails the upload and removes its bytes.
 */
export async function completeUpload(caller: Caller, id: string, opts: { signal?: AbortSignal } = {}): Promise<VersionResult> {
  authorize(caller, 'upload');
  const u = await findUpload(caller, id);
  if (u.status === 'completed' && u.fileId) {
    const file = await findLiveFile(caller, u.fileId);
    const [dataset] = file.datasetId ? await db().select().from(schema.datasets).where(orgScope(caller, schema.datasets, eq(schema.datasets.id, file.datasetId))) : [];
    if (dataset) return { file, dataset, reused: true };
  }
  if (u.status === 'failed' && u.error) {
    const err = u.error as { code?: string; message?: string; param?: string | null; details?: [] };
    throw new DomainError((err.code as DomainError['code']) ?? 'conflict', String(err.message ?? `Upload '${id}' has failed.`), { param: err.param ?? null, details: err.details ?? [] });
  }
  assertOpen(u);
  const [claimed] = await db()
    .update(schema.uploads)
    .set({ status: 'completing', updatedAt: new Date() })
    .where(orgScope(caller, schema.uploads, eq(schema.uploads.id, id), eq(schema.uploads.status, 'open')))
    .returning();
  if (!claimed) throw new DomainError('conflict', `Upload '${id}' is being completed or written to; try again.`, { param: 'id' });
  if (writing.has(id)) {
    await setStatus(caller, id, { status: 'open' });
    throw new UploadOffsetConflict(`A chunk of upload '${id}' is still being received; complete it when that chunk is done.`, claimed.receivedBytes);
  }
  const file = uploadStagingPath(caller.orgId, id);
  try {
    const total = claimed.totalBytes ?? 0;
    if (claimed.receivedBytes < total) {
      throw new DomainError(
        'invalid_request',
        `The upload was cut off: ${claimed.receivedBytes} of ${total} bytes arrived before it was completed. Nothing was stored; upload the file again.`,
        { param: 'id' },
      );
    }
    // A crash between a write and its bookkeeping may have left bytes past the recorded offset.
    const onDisk = (await stat(file)).size;
    if (onDisk < total) throw new DomainError('internal', `The staged bytes of upload '${id}' are incomplete on disk (${onDisk} of ${total}).`);
    if (onDisk > total) await truncate(file, total);
    const opts2: VersionFields = claimed.options;
    const fields = checkFields({ ...opts2, purpose: claimed.purpose }, true);
    const followed = await followedVersion(caller, id, { filename: claimed.filename, fields, total, signal: opts.signal });
    // createVersion consumes the staged file; a follower removed it once read (this only makes sure).
    if (followed) await removeStaged(file);
    const result = followed ?? (await createVersion(caller, { path: file, bytes: total }, { filename: claimed.filename, fields, signal: opts.signal, onProgress: progressRecorder(caller, id, total) }));
    await setStatus(caller, id, { status: 'completed', fileId: result.file.id, error: null });
    return result;
  } catch (e) {
    await dropFollower(id, 'the upload failed');
    await removeStaged(file);
    await setStatus(caller, id, { status: 'failed', error: errorRecord(e) }).catch((err) => logger.error({ err, id }, 'could not record a failed upload'));
    throw e;
  }
}

/**
 * The version made by the validation that followed the upload's parts, once it has the rest; null
 * when there is none to finish (the parts went to another process, or it gave up), and when it
 * failed for a reason other than the bytes themselves before it had read the whole staged file:
 * then that file is validated afresh. Once read, the staged file goes before the store completes.
 */
async function followedVersion(
  caller: Caller,
  id: string,
  input: { filename: string; fields: CheckedFields; total: number; signal?: AbortSignal },
): Promise<VersionResult | null> {
  const follower = takeFollower(id);
  if (!follower) return null;
  const cancel = () => void follower.discard('the completion was cancelled');
  input.signal?.addEventListener('abort', cancel, { once: true });
  try {
    follower.advance(input.total);
    void follower.removeStagedOnceRead();
    return await finishVersion(caller, follower.started, { filename: input.filename, fields: input.fields, bytes: input.total });
  } catch (e) {
    if (e instanceof DomainError || input.signal?.aborted || follower.stagedRemoved) throw e;
    logger.warn({ err: e, id }, 'the validation that followed the upload failed; validating the staged file from the start');
    return null;
  } finally {
    input.signal?.removeEventListener('abort', cancel);
  }
}

/**
 * Records how far validation has read, at most once a second (and when it has read everything),
 * for whoever polls the upload: while parts still arrive, and while completing.
 */
function progressRecorder(caller: Caller, id: string, total?: number): (bytes: number) => void {
  let last = 0;
  let recording = false;
  /** The last count, when it arrived while another was being written. */
  let waiting: number | null = null;
  const record = (bytes: number): void => {
    last = Date.now();
    recording = true;
    void db()
      .update(schema.uploads)
      .set({ validatedBytes: bytes })
      .where(orgScope(caller, schema.uploads, eq(schema.uploads.id, id), inArray(schema.uploads.status, ['open', 'completing'])))
      .catch((err) => logger.warn({ err, id }, 'could not record validation progress'))
      .finally(() => {
        recording = false;
        // The final count is never lost to the once-a-second limit.
        if (waiting !== null && waiting === total) record(waiting);
        waiting = null;
      });
  };
  return (bytes) => {
    if (recording) waiting = bytes;
    else if (Date.now() - last >= 1000 || bytes === total) record(bytes);
  };
}

async function setStatus(caller: Caller, id: string, patch: Partial<Pick<UploadRow, 'status' | 'fileId' | 'error'>>): Promise<void> {
  await db()
    .update(schema.uploads)
    .set({ ...patch, updatedAt: new Date() })
    .where(orgScope(caller, schema.uploads, eq(schema.uploads.id, id)));
}

/** Stops an upload and removes its staged bytes. */
export async function abortUpload(caller: Caller, id: string): Promise<UploadStatus> {
  authorize(caller, 'upload');
  const u = await findUpload(caller, id);
  if (u.status === 'completing') throw new DomainError('conflict', `Upload '${id}' is being completed and cannot be aborted now.`, { param: 'id' });
  if (u.status === 'completed') throw new DomainError('conflict', `Upload '${id}' is completed; delete file '${u.fileId}' instead.`, { param: 'id' });
  if (writing.has(id)) throw new UploadOffsetConflict(`A chunk of upload '${id}' is being received; abort again when it is done.`, u.receivedBytes);
  await dropFollower(id, 'the upload was aborted');
  await removeStaged(uploadStagingPath(caller.orgId, id));
  const [row] = await db()
    .update(schema.uploads)
    .set({ status: 'aborted', updatedAt: new Date() })
    .where(orgScope(caller, schema.uploads, eq(schema.uploads.id, id)))
    .returning();
  return uploadStatusOf(row);
}
