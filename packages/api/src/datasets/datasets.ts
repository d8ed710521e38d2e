/**
 * Datasets: named series of immutable versions (files rows), their lineage (jobs that used a
 * version, the models those jobs produced), previews of the stored records, training estimates,
 * and deletion (refused while a queued or running job uses a version).
 */
import { Readable, Transform } from 'node:stream';
import { asc, count, desc, eq, inArray } from 'drizzle-orm';
import { DomainError, findBaseModel } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { estimateTraining, trainingPrice } from '@edgetune/datasets';
import { medianTrainingThroughput } from '../jobs/throughput';
import { authorize, findOwned, newestFirstAfter, orgScope, pageLimit, toPage, type Caller } from '../tenant';
import { recordAudit } from '../identity/audit';
import { assertNoActiveJobs, DELETED_PURPOSE, deleteStoredObjects, findLiveFile, jobsUsingFiles, live, removeDatasetRows, type DatasetRow, type FileRow, type JobUse } from './files';

export interface DatasetSummary {
  dataset: DatasetRow;
  latest: FileRow | null;
  versions: number;
}

export interface VersionDetail {
  file: FileRow;
  usedBy: JobUse[];
}

export interface DatasetDetail {
  dataset: DatasetRow;
  versions: VersionDetail[];
}

export async function listDatasets(caller: Caller, opts: { limit?: number; after?: string | null } = {}): Promise<{ data: DatasetSummary[]; hasMore: boolean }> {
  authorize(caller, 'read');
  const limit = pageLimit(opts.limit, 50, 100);
  const cursor = await newestFirstAfter(caller, schema.datasets, opts.after, 'dataset');
  const page = toPage(
    await db()
      .select()
      .from(schema.datasets)
      .where(orgScope(caller, schema.datasets, cursor))
      .orderBy(desc(schema.datasets.createdAt), desc(schema.datasets.id))
      .limit(limit + 1),
    limit,
  );
  const ids = page.data.map((d) => d.id);
  const counts = new Map<string, number>();
  const latest = new Map<string, FileRow>();
  if (ids.length) {
    for (const r of await db()
      .select({ id: schema.files.datasetId, n: count() })
      .from(schema.files)
      .where(orgScope(caller, schema.files, inArray(schema.files.datasetId, ids), live()))
      .groupBy(schema.files.datasetId)) {
      counts.set(r.id!, r.n);
    }
    const rows = await db()
      .selectDistinctOn([schema.files.datasetId])
      .from(schema.files)
      .where(orgScope(caller, schema.files, inArray(schema.files.datasetId, ids), live()))
      .orderBy(schema.files.datasetId, desc(schema.files.version));
    for (const f of rows) latest.set(f.datasetId!, f);
  }
  return {
    data: page.data.map((dataset) => ({ dataset, latest: latest.get(dataset.id) ?? null, versions: counts.get(dataset.id) ?? 0 })),
    hasMore: page.hasMore,
  };
}

export async function getDataset(caller: Caller, id: string): Promise<DatasetDetail> {
  authorize(caller, 'read');
  const dataset = await findOwned(caller, schema.datasets, id, 'dataset');
  const files = await db()
    .select()
    .from(schema.files)
    .where(orgScope(caller, schema.files, eq(schema.files.datasetId, id), live()))
    .orderBy(desc(schema.files.version));
  const jobs = await jobsUsingFiles(
    caller,
    files.map((f) => f.id),
  );
  return {
    dataset,
    versions: files.map((file) => ({ file, usedBy: jobs.filter((j) => j.trainingFileId === file.id || j.validationFileId === file.id) })),
  };
}

/** Deletes a dataset with every version (rows and stored objects); refused while a job uses one. */
export async function deleteDataset(caller: Caller, id: string): Promise<{ id: string; deleted: true; versions: number }> {
  authorize(caller, 'upload');
  const dataset = await findOwned(caller, schema.datasets, id, 'dataset');
  // Every row of the dataset, the tombstones of deleted versions included.
  const rows = await db()
    .select()
    .from(schema.files)
    .where(orgScope(caller, schema.files, eq(schema.files.datasetId, id)))
    .orderBy(asc(schema.files.version));
  const files = rows.filter((f) => f.purpose !== DELETED_PURPOSE);
  await assertNoActiveJobs(
    caller,
    files.map((f) => f.id),
    `Dataset '${dataset.name}'`,
  );
  const keys = await db().transaction(async (tx) => {
    const keys = await removeDatasetRows(caller, tx, rows);
    await tx.delete(schema.datasets).where(orgScope(caller, schema.datasets, eq(schema.datasets.id, id)));
    await recordAudit(
      caller,
      { action: 'dataset.deleted', targetType: 'dataset', targetId: id, data: { name: dataset.name, versions: files.map((f) => ({ id: f.id, version: f.version, sha256: f.sha256 })) } },
      tx,
    );
    return keys;
  });
  await deleteStoredObjects(keys);
  return { id, deleted: true, versions: files.length };
}

/** A preview record whose line is too long to ship is replaced by its size. */
const MAX_PREVIEW_LINE_BYTES = 256 * 1024;
export const MAX_PREVIEW_RECORDS = 100;

export interface PreviewRecord {
  /** 1-based record number in the stored (normalized) file. */
  line: number;
  record: unknown;
  /** Set when the record was too large to include. */
  truncated?: { bytes: number };
}

/**
 * Splits a byte stream into lines without ever holding an over-long line: lines longer than
 * `max` bytes come out as their length only.
 */
function boundedLines(max: number): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  let skipped = 0;
  const flushLine = (t: Transform) => {
    if (skipped) t.push({ tooLong: size + skipped });
    else t.push({ text: Buffer.concat(parts).toString('utf8') });
    parts = [];
    size = 0;
    skipped = 0;
  };
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, done) {
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(10, from);
        const piece = chunk.subarray(from, nl < 0 ? chunk.length : nl);
        if (skipped || size + piece.length > max) skipped += piece.length;
        else {
          parts.push(Buffer.from(piece));
          size += piece.length;
        }
        if (nl < 0) break;
        flushLine(this);
        from = nl + 1;
      }
      done();
    },
    flush(done) {
      if (size || skipped) flushLine(this);
      done();
    },
  });
}

export async function previewVersion(
  caller: Caller,
  fileId: string,
  opts: { offset?: number; limit?: number } = {},
): Promise<{ records: PreviewRecord[]; total: number; offset: number; limit: number; file: FileRow }> {
  authorize(caller, 'read');
  const file = await findLiveFile(caller, fileId, 'fileId');
  const offset = opts.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new DomainError('invalid_request', "'offset' must be a non-negative integer.", { param: 'offset' });
  const limit = pageLimit(opts.limit, 20, MAX_PREVIEW_RECORDS);
  const records: PreviewRecord[] = [];
  if (offset < file.examples) {
    const stream = await storage().get(file.storageKey);
    const lines = (stream as Readable).pipe(boundedLines(MAX_PREVIEW_LINE_BYTES));
    let n = 0;
    try {
      for await (const l of lines as AsyncIterable<{ text?: string; tooLong?: number }>) {
        if (l.text !== undefined && l.text.trim() === '') continue;
        n += 1;
        if (n <= offset) continue;
        if (l.tooLong !== undefined) records.push({ line: n, record: null, truncated: { bytes: l.tooLong } });
        else records.push({ line: n, record: JSON.parse(l.text!) });
        if (records.length >= limit) break;
      }
    } finally {
      stream.destroy();
      lines.destroy();
    }
  }
  return { records, total: file.examples, offset, limit, file };
}

export async function estimateVersion(caller: Caller, fileId: string, input: { baseModel: string; epochs: number }) {
  authorize(caller, 'read');
  const file = await findLiveFile(caller, fileId, 'fileId');
  if (!findBaseModel(input.baseModel)) throw new DomainError('invalid_request', `Model '${input.baseModel}' is not available for fine-tuning.`, { param: 'baseModel' });
  if (!Number.isInteger(input.epochs) || input.epochs < 1 || input.epochs > 50) {
    throw new DomainError('invalid_request', "'epochs' must be an integer between 1 and 50.", { param: 'epochs' });
  }
  if (!file.report) throw new DomainError('invalid_request', `File '${fileId}' was uploaded before validation reports existed; upload it again to get an estimate.`, { param: 'fileId' });
  // The organization's own jobs first; before its first one, the platform-wide figure.
  const throughput =
    (await medianTrainingThroughput(input.baseModel, orgScope(caller, schema.jobs, eq(schema.jobs.baseModel, input.baseModel)), 'this organization')) ??
    (await medianTrainingThroughput(input.baseModel));
  return estimateTraining(file.report, input.baseModel, input.epochs, {
    tokensPerSecond: throughput?.tokensPerSecond ?? null,
    throughputBasis: throughput?.basis,
    pricePerMillionTokensMinor: trainingPrice(input.baseModel),
  });
}
