/**
 * Files = dataset versions. An upload is staged on local disk, validated and normalized by the
 * dataset engine (@edgetune/datasets), stored as canonical JSONL, and recorded as the next
 * immutable version of its dataset. Content-addressed: the same bytes uploaded to the same
 * dataset return the existing version. On any failure nothing is left behind (no row, no object,
 * no staged or temporary file).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { and, desc, eq, inArray, ne, notInArray, or, sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { datasetFormats, DomainError, filePurposes, newId, terminalStatuses, type DatasetFormat } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { ChunkFeed, ingestStreamOffThread, type IngestOptions, type OffThreadResult } from '@edgetune/datasets';
import { logger } from '../logger';
import { authorize, findOwned, newestFirstAfter, notFoundError, orgScope, pageLimit, toPage, type Caller } from '../tenant';
import { isUniqueViolation } from '../identity/accounts';
import { recordAudit } from '../identity/audit';
import { assertQuota, streamQuota } from '../billing/account';
import { batched, removeStaged, StagingWriter, tooLarge, type ByteSource } from './staging';

export type FileRow = typeof schema.files.$inferSelect;
export type DatasetRow = typeof schema.datasets.$inferSelect;
export type { ByteSource } from './staging';

/**
 * A deleted version that a finished job still references keeps its row (jobs.training_file_id
 * has no ON DELETE rule, and the job's history names it) but loses its data, its dataset and
 * every read path: this purpose marks such a tombstone.
 */
export const DELETED_PURPOSE = 'deleted';
/** The condition that leaves tombstones out. */
export const live = () => ne(schema.files.purpose, DELETED_PURPOSE);

const MAX_COLUMNS = 32;

export function fileStorageKey(orgId: string, fileId: string): string {
  return `orgs/${orgId}/files/${fileId}.jsonl`;
}

/** What an upload is processed with besides its bytes (multipart fields, query parameters, upload options). */
export interface VersionFields {
  purpose?: string | null;
  /** Dataset name; default: the file name without its extensions. */
  dataset?: string | null;
  format?: string | null;
  /** CSV / Parquet column mapping (target field → source column), or its JSON text. */
  columns?: Record<string, string> | string | null;
  baseModel?: string | null;
}

export interface CheckedFields {
  purpose: string | null;
  dataset: string | null;
  format: DatasetFormat | 'auto';
  columns: Record<string, string> | undefined;
  baseModel: string | undefined;
}

function checkPurpose(purpose: string | null | undefined): string {
  if (!purpose) throw new DomainError('invalid_request', "Missing required parameter: 'purpose'.", { param: 'purpose' });
  if (!(filePurposes as readonly string[]).includes(purpose)) {
    throw new DomainError('invalid_request', `Invalid purpose '${purpose}'; expected one of ${filePurposes.join(', ')}.`, { param: 'purpose' });
  }
  return purpose;
}

export function checkFilename(filename: string | null | undefined): string {
  const name = (filename ?? '').split(/[\\/]/).pop()?.trim() ?? '';
  if (!name) return 'upload.jsonl';
  if (name.length > 255) throw new DomainError('invalid_request', 'filename must be at most 255 characters.', { param: 'file' });
  if (/[\u0000-\u001f]/.test(name)) throw new DomainError('invalid_request', 'filename must not contain control characters.', { param: 'file' });
  return name;
}

function checkDatasetName(name: string): string {
  const n = name.trim();
  if (!n) throw new DomainError('invalid_request', 'The dataset name must not be empty.', { param: 'dataset' });
  if (n.length > 100) throw new DomainError('invalid_request', 'The dataset name must be at most 100 characters.', { param: 'dataset' });
  if (/[\u0000-\u001f]/.test(n)) throw new DomainError('invalid_request', 'The dataset name must not contain control characters.', { param: 'dataset' });
  return n;
}

/** `support-chats.jsonl.gz` → `support-chats`: the dataset an upload without a dataset name goes to. */
export function datasetNameFromFilename(filename: string): string {
  let n = filename;
  for (;;) {
    const next = n.replace(/\.(jsonl|json|ndjson|csv|tsv|parquet|txt|gz|gzip|zst|zstd)$/i, '');
    if (next === n || !next) break;
    n = next;
  }
  return n.trim().slice(0, 100) || 'dataset';
}

/**
 * Checks the fields that are known; a missing purpose is only an error once every field has
 * arrived (`final`). Called before any byte is stored, so bad options cost nothing.
 */
export function checkFields(f: VersionFields, final: boolean): CheckedFields {
  const purpose = f.purpose ? checkPurpose(f.purpose) : final ? checkPurpose(f.purpose) : null;
  const dataset = f.dataset != null && f.dataset !== '' ? checkDatasetName(f.dataset) : null;
  let format: DatasetFormat | 'auto' = 'auto';
  if (f.format != null && f.format !== '' && f.format !== 'auto') {
    if (!(datasetFormats as readonly string[]).includes(f.format)) {
      throw new DomainError('invalid_request', `Invalid format '${f.format}'; expected one of auto, ${datasetFormats.join(', ')}.`, { param: 'format' });
    }
    format = f.format as DatasetFormat;
  }
  let columns: Record<string, string> | undefined;
  if (f.columns != null && f.columns !== '') {
    let raw: unknown = f.columns;
    if (typeof raw === 'string') {
      try {
        raw = JSON.parse(raw);
      } catch {
        throw new DomainError('invalid_request', `Invalid 'columns': expected a JSON object mapping fields to column names, e.g. {"prompt":"question","completion":"answer"}.`, {
          param: 'columns',
        });
      }
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new DomainError('invalid_request', "Invalid 'columns': expected an object mapping fields to column names.", { param: 'columns' });
    }
    const entries = Object.entries(raw as Record<string, unknown>);
    if (entries.length > MAX_COLUMNS) throw new DomainError('invalid_request', `Invalid 'columns': at most ${MAX_COLUMNS} entries.`, { param: 'columns' });
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || !v || v.length > 200 || !k || k.length > 100) {
        throw new DomainError('invalid_request', `Invalid 'columns.${k}': expected a column name (a non-empty string).`, { param: `columns.${k}` });
      }
    }
    columns = Object.fromEntries(entries) as Record<string, string>;
  }
  const baseModel = f.baseModel ? String(f.baseModel) : undefined;
  return { purpose, dataset, format, columns, baseModel };
}

export interface VersionResult {
  file: FileRow;
  dataset: DatasetRow;
  /** True when the same bytes were already a version of this dataset (nothing new was stored). */
  reused: boolean;
}

const datasetByName = (caller: Caller, name: string) =>
  orgScope(caller, schema.datasets, sql`lower(${schema.datasets.name}) = lower(${name})`);

async function existingVersion(caller: Caller, datasetName: string, sha256: string): Promise<VersionResult | null> {
  const [hit] = await db()
    .select({ file: schema.files, dataset: schema.datasets })
    .from(schema.files)
    .innerJoin(schema.datasets, eq(schema.datasets.id, schema.files.datasetId))
    .where(and(datasetByName(caller, datasetName), orgScope(caller, schema.files, eq(schema.files.sha256, sha256), live())))
    .limit(1);
  return hit ? { ...hit, reused: true } : null;
}

/** What validation is run with: the options that change how the bytes are read. */
function ingestOptions(filename: string, f: CheckedFields, signal: AbortSignal | undefined): IngestOptions {
  return { filename, format: f.format, columns: f.columns, baseModel: f.baseModel, maxDecompressedBytes: loadConfig().MAX_DECOMPRESSED_BYTES, signal };
}

/** Whether two sets of fields would validate the same bytes differently. */
function sameValidation(a: CheckedFields, b: CheckedFields): boolean {
  return a.format === b.format && a.baseModel === b.baseModel && JSON.stringify(a.columns ?? null) === JSON.stringify(b.columns ?? null);
}

/** Removes the object of an upload that will not become a version; a failure is logged, never thrown over the first cause. */
export async function dropUploadObject(key: string, why = 'a failed upload'): Promise<void> {
  await storage()
    .delete(key)
    .catch((err) => logger.error({ err, key }, `could not remove the object of ${why}`));
}

/**
 * Validates an upload on a validation thread (off the event loop: validating gigabytes here would
 * stall every other request), which streams the normalized output into the object store under
 * `key` as it is made (a multipart upload on S3), so nothing is written twice or read back, and
 * the output's buffers never reach the web server's large heap. On any failure, of the
 * validation, the input or the store, the object is gone and the first cause is thrown.
 */
async function validateIntoStore(key: string, input: AsyncIterable<Uint8Array>, opts: IngestOptions, handOver = false): Promise<OffThreadResult> {
  try {
    return await ingestStreamOffThread(input, { storeKey: key }, opts, loadConfig().DATASET_THREADS, handOver);
  } catch (e) {
    await dropUploadObject(key);
    throw e;
  }
}

/**
 * Records a validated, stored upload as the next version of its dataset, or returns the version
 * that already holds the same bytes (and drops the new object). Removes the object on failure.
 */
async function recordVersion(
  caller: Caller,
  datasetName: string,
  stored: { id: string; key: string; result: OffThreadResult },
  row: { filename: string; purpose: string },
): Promise<VersionResult> {
  const { id, key, result } = stored;
  try {
    const before = await existingVersion(caller, datasetName, result.sha256);
    const saved =
      before ??
      (await insertVersion(caller, datasetName, {
        id,
        orgId: caller.orgId,
        filename: row.filename,
        purpose: row.purpose,
        bytes: result.uploadedBytes,
        sha256: result.sha256,
        storageKey: key,
        examples: result.examples,
        stats: result.stats,
        format: result.format,
        source: { ...result.source, filename: row.filename, uploadedBytes: result.uploadedBytes, normalizedBytes: result.normalizedBytes },
        report: result.report,
        createdBy: caller.userId,
      }));
    // The same bytes were already a version (or became one while this upload validated): keep that
    // one. The upload has succeeded by now, so a failure to remove the spare object is only logged.
    if (saved.reused) await dropUploadObject(key, 'a duplicate upload');
    return saved;
  } catch (e) {
    await dropUploadObject(key);
    throw e;
  }
}

/**
 * Turns a staged upload into a dataset version (or returns the existing one with the same
 * bytes). Consumes the staged file: it is removed whatever the outcome.
 */
export async function createVersion(
  caller: Caller,
  staged: { path: string; bytes: number },
  input: { filename: string; fields: CheckedFields; signal?: AbortSignal; onProgress?: (validatedBytes: number) => void },
): Promise<VersionResult> {
  try {
    authorize(caller, 'upload');
    const filename = checkFilename(input.filename);
    const f = input.fields;
    const purpose = checkPurpose(f.purpose);
    const datasetName = f.dataset ?? datasetNameFromFilename(filename);
    const config = loadConfig();
    if (staged.bytes > config.MAX_UPLOAD_BYTES) throw tooLarge(config.MAX_UPLOAD_BYTES);
    await assertQuota(caller.orgId, 'stored_bytes', staged.bytes);
    const id = newId('file');
    const key = fileStorageKey(caller.orgId, id);
    const result = await validateIntoStore(key, readCounted(staged.path, input.onProgress), ingestOptions(filename, f, input.signal));
    return await recordVersion(caller, datasetName, { id, key, result }, { filename, purpose });
  } finally {
    await removeStaged(staged.path);
  }
}

/** A validation begun before the last byte arrived: `result` settles once its source ends. */
export interface StartedValidation {
  id: string;
  key: string;
  result: Promise<OffThreadResult>;
}

/**
 * Starts validating bytes still arriving (a resumable upload's parts): the output streams into the
 * store under a new file's key as it is made. Each chunk `source` yields is handed to the
 * validation thread, so it must be the source's own. `finishVersion` records the result.
 */
export function startValidation(caller: Caller, source: AsyncIterable<Uint8Array>, input: { filename: string; fields: CheckedFields; signal?: AbortSignal }): StartedValidation {
  authorize(caller, 'upload');
  const id = newId('file');
  const key = fileStorageKey(caller.orgId, id);
  const result = validateIntoStore(key, source, ingestOptions(checkFilename(input.filename), input.fields, input.signal), true);
  // Awaited by finishVersion (or dropped, when the upload goes): never an unhandled rejection meanwhile.
  result.catch(() => undefined);
  return { id, key, result };
}

/** Records a started validation as the next version of its dataset, once its bytes are all in. */
export async function finishVersion(caller: Caller, started: StartedValidation, input: { filename: string; fields: CheckedFields; bytes: number }): Promise<VersionResult> {
  const result = await started.result;
  const filename = checkFilename(input.filename);
  try {
    await assertQuota(caller.orgId, 'stored_bytes', input.bytes);
  } catch (e) {
    await dropUploadObject(started.key);
    throw e;
  }
  const f = input.fields;
  return recordVersion(caller, f.dataset ?? datasetNameFromFilename(filename), { id: started.id, key: started.key, result }, { filename, purpose: checkPurpose(f.purpose) });
}

/** A staged file's bytes, telling `onProgress` how many have been handed on. */
async function* readCounted(file: string, onProgress?: (bytes: number) => void): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    bytes += (chunk as Buffer).length;
    onProgress?.(bytes);
    yield chunk as Buffer;
  }
}

type NewFile = Omit<typeof schema.files.$inferInsert, 'datasetId' | 'version'>;

/**
 * Inserts the row as the next version of the named dataset (created if new) in one transaction.
 * Two uploads racing for the same version number or dataset name collide on a unique index; the
 * loser retries with the next number.
 */
async function insertVersion(caller: Caller, datasetName: string, row: NewFile): Promise<VersionResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db().transaction(async (tx) => {
        let [dataset] = await tx.select().from(schema.datasets).where(datasetByName(caller, datasetName)).limit(1);
        if (!dataset) {
          [dataset] = await tx.insert(schema.datasets).values({ id: newId('dataset'), orgId: caller.orgId, name: datasetName, createdBy: caller.userId }).returning();
        }
        const [same] = await tx
          .select()
          .from(schema.files)
          .where(orgScope(caller, schema.files, eq(schema.files.datasetId, dataset.id), eq(schema.files.sha256, row.sha256)))
          .limit(1);
        if (same) return { file: same, dataset, reused: true };
        const [{ max }] = await tx
          .select({ max: sql<number | null>`max(${schema.files.version})` })
          .from(schema.files)
          .where(orgScope(caller, schema.files, eq(schema.files.datasetId, dataset.id)));
        const [file] = await tx
          .insert(schema.files)
          .values({ ...row, datasetId: dataset.id, version: (max ?? 0) + 1 })
          .returning();
        await recordAudit(
          caller,
          {
            action: 'file.uploaded',
            targetType: 'file',
            targetId: file.id,
            data: { filename: file.filename, dataset: dataset.name, datasetId: dataset.id, version: file.version, format: file.format, bytes: file.bytes, examples: file.examples, sha256: file.sha256 },
          },
          tx,
        );
        return { file, dataset, reused: false };
      });
    } catch (e) {
      if (attempt < 8 && isUniqueViolation(e)) continue;
      throw e;
    }
  }
}

export interface UploadInput extends Omit<VersionFields, 'purpose'> {
  filename: string;
  body: ByteSource;
  /** A raw body's Content-Length: refused early when too large; a shorter body was cut off. */
  declaredBytes?: number | null;
  /** Fields that arrive after the file (multipart order), read once the body is consumed. */
  lateFields?: () => Promise<VersionFields>;
  /** Back-compat: the purpose may be a function when it arrives after the file. */
  purpose?: string | null | (() => Promise<string | null | undefined>);
  signal?: AbortSignal;
}

/**
 * A single-shot upload. The body is validated as it arrives (hashed, checked, counted and
 * normalized on a validation thread, the output streaming into the object store), so the version
 * is ready moments after the last byte. Fields that arrive after the file (multipart order) are
 * read once the body is consumed; should they change how the bytes are read (format, columns,
 * base model), the bytes are validated again from a staged copy, which is kept for that case only.
 */
export async function uploadVersion(caller: Caller, input: UploadInput): Promise<VersionResult> {
  authorize(caller, 'upload');
  const filename = checkFilename(input.filename);
  const early = { ...input, purpose: typeof input.purpose === 'function' ? null : input.purpose };
  // Known options are checked before any byte is stored.
  const earlyFields = checkFields(early, false);
  const maxBytes = loadConfig().MAX_UPLOAD_BYTES;
  if (input.declaredBytes != null && input.declaredBytes > maxBytes) throw tooLarge(maxBytes);
  const withinStorage = await streamQuota(caller.orgId, 'stored_bytes', input.declaredBytes ?? 0);

  const id = newId('file');
  const key = fileStorageKey(caller.orgId, id);
  const feed = new ChunkFeed();
  // The feed gets batched()'s pieces, each written to the staged copy first: they move to the thread as they are.
  const validation = validateIntoStore(key, feed, ingestOptions(filename, earlyFields, input.signal), true);
  let validated: OffThreadResult | null = null;
  let invalid: unknown = null;
  const settled = validation.then(
    (r) => void (validated = r),
    (e: unknown) => void (invalid = e),
  );
  /** The first pass will not become the version: wait for it, and remove what it stored. */
  const dropFirstPass = async () => {
    await settled;
    if (validated) await dropUploadObject(key);
  };
  const staged = input.lateFields ? await StagingWriter.create(caller.orgId) : null;
  let bytes = 0;
  try {
    for await (const buf of batched(input.body)) {
      bytes += buf.length;
      if (bytes > maxBytes) throw tooLarge(maxBytes);
      withinStorage(bytes);
      if (staged) await staged.write(buf);
      if (feed.open) await feed.push(buf);
      // Invalid and no field can come later to change that: the rest of the body need not be read.
      else if (!staged) break;
    }
    if (feed.open && input.declaredBytes != null && bytes !== input.declaredBytes) {
      throw new DomainError('invalid_request', `The upload was cut off: received ${bytes} of the ${input.declaredBytes} bytes announced by Content-Length.`, { param: 'file' });
    }
    feed.end();
    await staged?.close();
  } catch (e) {
    // The body failed (too large, cut off, connection dropped): that is the error, nothing is kept.
    feed.fail(e);
    await staged?.remove();
    await dropFirstPass();
    throw e;
  }
  // Fields that came after the file are in once the body is: read them before waiting for the
  // store, so that a staged copy they turn out not to need is gone before the store completes
  // the object (that completion rewrites it on an S3 server, and can use the memory freed here).
  let fields: CheckedFields;
  try {
    const late = input.lateFields ? await input.lateFields() : {};
    const purpose = typeof input.purpose === 'function' ? await input.purpose() : input.purpose;
    fields = checkFields({ ...early, purpose, ...stripEmpty(late) }, true);
  } catch (e) {
    await staged?.remove();
    await dropFirstPass();
    throw e;
  }
  if (staged && !sameValidation(earlyFields, fields)) {
    await dropFirstPass();
    return createVersion(caller, { path: staged.path, bytes }, { filename, fields, signal: input.signal });
  }
  await staged?.remove();
  await settled;
  if (!validated) throw invalid;
  return recordVersion(caller, fields.dataset ?? datasetNameFromFilename(filename), { id, key, result: validated }, { filename, purpose: fields.purpose! });
}

function stripEmpty(f: VersionFields): VersionFields {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined && v !== null && v !== '')) as VersionFields;
}

export async function uploadFile(caller: Caller, input: UploadInput): Promise<FileRow> {
  return (await uploadVersion(caller, input)).file;
}

export async function listFiles(
  caller: Caller,
  opts: { limit?: number; after?: string | null; purpose?: string | null } = {},
): Promise<{ data: FileRow[]; hasMore: boolean }> {
  authorize(caller, 'read');
  const limit = pageLimit(opts.limit, 100, 10_000);
  const cursor = await newestFirstAfter(caller, schema.files, opts.after, 'file');
  const rows = await db()
    .select()
    .from(schema.files)
    .where(orgScope(caller, schema.files, live(), opts.purpose ? eq(schema.files.purpose, opts.purpose) : undefined, cursor))
    .orderBy(desc(schema.files.createdAt), desc(schema.files.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}

/** A live (not deleted) file of the caller's org, or not_found naming `param`. */
export async function findLiveFile(caller: Caller, id: string, param = 'id'): Promise<FileRow> {
  const file = await findOwned(caller, schema.files, id, 'file', param);
  if (file.purpose === DELETED_PURPOSE) throw notFoundError('file', id, param);
  return file;
}

export async function getFile(caller: Caller, id: string): Promise<FileRow> {
  authorize(caller, 'read');
  return findLiveFile(caller, id);
}

/** The stored (normalized JSONL) content of a file and its size. */
export async function fileContent(caller: Caller, id: string): Promise<{ file: FileRow; stream: Readable; size: number }> {
  const file = await getFile(caller, id);
  const head = await storage().head(file.storageKey);
  if (!head) throw new DomainError('internal', `The content of file '${id}' is missing from storage.`);
  const stream = await storage().get(file.storageKey);
  return { file, stream, size: head.sizeBytes };
}

export type JobUse = { id: string; status: string; fineTunedModel: string | null; trainingFileId: string; validationFileId: string | null };

/** Jobs of the caller's org that use any of the files, newest first. */
export async function jobsUsingFiles(caller: Caller, fileIds: string[], opts: { activeOnly?: boolean } = {}): Promise<JobUse[]> {
  if (!fileIds.length) return [];
  return db()
    .select({
      id: schema.jobs.id,
      status: schema.jobs.status,
      fineTunedModel: schema.jobs.fineTunedModel,
      trainingFileId: schema.jobs.trainingFileId,
      validationFileId: schema.jobs.validationFileId,
    })
    .from(schema.jobs)
    .where(
      orgScope(
        caller,
        schema.jobs,
        or(inArray(schema.jobs.trainingFileId, fileIds), inArray(schema.jobs.validationFileId, fileIds)),
        opts.activeOnly ? notInArray(schema.jobs.status, [...terminalStatuses]) : undefined,
      ),
    )
    .orderBy(desc(schema.jobs.createdAt));
}

/** Refuses (conflict, naming the jobs) while a queued or running job uses any of the files. */
export async function assertNoActiveJobs(caller: Caller, fileIds: string[], what: string): Promise<void> {
  const active = await jobsUsingFiles(caller, fileIds, { activeOnly: true });
  if (!active.length) return;
  const names = active.slice(0, 5).map((j) => `'${j.id}' (${j.status})`);
  const more = active.length > 5 ? ` and ${active.length - 5} more` : '';
  throw new DomainError(
    'conflict',
    `${what} is used by fine-tuning job${active.length > 1 ? 's' : ''} ${names.join(', ')}${more}; cancel ${active.length > 1 ? 'them' : 'it'} or wait until ${active.length > 1 ? 'they finish' : 'it finishes'}, then delete again.`,
    { param: 'id', details: active.map((j) => ({ field: 'job', message: `${j.id} (${j.status})` })) },
  );
}

type Tx = Parameters<Parameters<ReturnType<typeof db>['transaction']>[0]>[0];

/**
 * Removes the rows of a dataset that is going away (inside its transaction): rows no job
 * references are deleted, the others are detached tombstones. Returns the storage keys to delete
 * once the transaction has committed.
 */
export async function removeDatasetRows(caller: Caller, tx: Tx, files: FileRow[]): Promise<string[]> {
  if (!files.length) return [];
  const ids = files.map((f) => f.id);
  const referenced = new Set(
    (
      await tx
        .select({ t: schema.jobs.trainingFileId, v: schema.jobs.validationFileId })
        .from(schema.jobs)
        .where(orgScope(caller, schema.jobs, or(inArray(schema.jobs.trainingFileId, ids), inArray(schema.jobs.validationFileId, ids))))
    ).flatMap((r) => [r.t, r.v]),
  );
  const tomb = files.filter((f) => referenced.has(f.id));
  const gone = ids.filter((id) => !referenced.has(id));
  for (const f of tomb) {
    await tx
      .update(schema.files)
      .set({ purpose: DELETED_PURPOSE, datasetId: null, version: null, sha256: `deleted:${f.id}`, report: null, source: null })
      .where(orgScope(caller, schema.files, eq(schema.files.id, f.id)));
  }
  if (gone.length) await tx.delete(schema.files).where(orgScope(caller, schema.files, inArray(schema.files.id, gone)));
  return files.map((f) => f.storageKey);
}

export async function deleteStoredObjects(keys: string[]): Promise<void> {
  for (const key of keys) {
    // The rows are gone already; a storage hiccup leaves an orphan to log, not a broken row.
    await storage()
      .delete(key)
      .catch((err) => logger.error({ err, key }, 'could not delete the object of a deleted file'));
  }
}

/**
 * Deletes one version; refused while a queued or running job uses it. Its row stays in the
 * dataset as a tombstone (no data, no hash, hidden from every read) so that its version number is
 * never given to other bytes; the last live version takes its dataset with it.
 */
export async function deleteFile(caller: Caller, id: string): Promise<{ id: string; deleted: true }> {
  authorize(caller, 'upload');
  const file = await findLiveFile(caller, id);
  await assertNoActiveJobs(caller, [id], `File '${id}'`);
  const keys = await db().transaction(async (tx) => {
    if (!file.datasetId) return removeDatasetRows(caller, tx, [file]);
    await tx
      .update(schema.files)
      .set({ purpose: DELETED_PURPOSE, sha256: `deleted:${file.id}`, report: null, source: null })
      .where(orgScope(caller, schema.files, eq(schema.files.id, file.id)));
    const rows = await tx.select().from(schema.files).where(orgScope(caller, schema.files, eq(schema.files.datasetId, file.datasetId)));
    if (rows.some((r) => r.purpose !== DELETED_PURPOSE)) return [file.storageKey];
    const keys = await removeDatasetRows(caller, tx, rows);
    await tx.delete(schema.datasets).where(orgScope(caller, schema.datasets, eq(schema.datasets.id, file.datasetId)));
    return keys;
  });
  await deleteStoredObjects(keys);
  return { id, deleted: true };
}
