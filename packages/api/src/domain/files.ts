import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { desc, eq, or } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { DomainError, filePurposes, newId, validateChatLine, type ErrorDetail } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { authorize, findOwned, newestFirstAfter, orgScope, pageLimit, toPage, type Caller } from '../tenant';

export type FileRow = typeof schema.files.$inferSelect;
export type ByteSource = AsyncIterable<Uint8Array | string>;

export const MAX_REPORTED_ERRORS = 20;

export function fileStorageKey(orgId: string, fileId: string): string {
  return `orgs/${orgId}/files/${fileId}.jsonl`;
}

/** Incremental JSONL validator: feed it bytes, it validates each complete line as it arrives. */
export class ChatJsonlValidator {
  private decoder = new StringDecoder('utf8');
  private pending = '';
  private line = 0;
  readonly errors: ErrorDetail[] = [];
  errorCount = 0;
  errorLines = 0;
  examples = 0;
  messages = 0;
  assistantMessages = 0;
  characters = 0;
  maxLineBytes = 0;

  write(chunk: Uint8Array | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.handle(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length) this.handle(this.pending);
    this.pending = '';
  }

  private handle(raw: string): void {
    this.line += 1;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return; // blank lines are skipped
    this.maxLineBytes = Math.max(this.maxLineBytes, Buffer.byteLength(text));
    const { record, errors } = validateChatLine(text, this.line);
    if (!record) {
      this.errorLines += 1;
      this.errorCount += errors.length;
      for (const e of errors) if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(e);
      return;
    }
    this.examples += 1;
    this.messages += record.messages.length;
    for (const m of record.messages) {
      this.characters += m.content.length;
      if (m.role === 'assistant') this.assistantMessages += 1;
    }
  }

  stats(): Record<string, number> {
    return {
      examples: this.examples,
      messages: this.messages,
      assistant_messages: this.assistantMessages,
      characters: this.characters,
      max_line_bytes: this.maxLineBytes,
      lines: this.line,
    };
  }
}

function validationError(v: ChatJsonlValidator): DomainError {
  const first = v.errors[0];
  const more = v.errorCount > 1 ? ` (${v.errorCount} errors on ${v.errorLines} line${v.errorLines === 1 ? '' : 's'} in total)` : '';
  return new DomainError('validation_failed', `Invalid file format. ${first.message}${more}`, { param: 'file', details: v.errors });
}

export interface UploadInput {
  filename: string;
  /** 'fine-tune'; may be a function when the purpose arrives after the file (multipart order). */
  purpose: string | null | undefined | (() => Promise<string | null | undefined>);
  body: ByteSource;
}

function checkPurpose(purpose: string | null | undefined): string {
  if (!purpose) throw new DomainError('invalid_request', "Missing required parameter: 'purpose'.", { param: 'purpose' });
  if (!(filePurposes as readonly string[]).includes(purpose)) {
    throw new DomainError('invalid_request', `Invalid purpose '${purpose}'; expected one of ${filePurposes.join(', ')}.`, { param: 'purpose' });
  }
  return purpose;
}

function checkFilename(filename: string): string {
  const name = (filename ?? '').split(/[\\/]/).pop()?.trim() ?? '';
  if (!name) return 'upload.jsonl';
  if (name.length > 255) throw new DomainError('invalid_request', 'filename must be at most 255 characters.', { param: 'file' });
  return name;
}

/**
 * Streams an upload into the object store while validating it line by line (nothing is
 * buffered whole). On any failure, no row and no object are left behind.
 */
export async function uploadFile(caller: Caller, input: UploadInput): Promise<FileRow> {
  authorize(caller, 'upload');
  const filename = checkFilename(input.filename);
  // A purpose known up front is checked before any byte is stored; a missing one after the body.
  if (typeof input.purpose === 'string') checkPurpose(input.purpose);
  const maxBytes = loadConfig().MAX_UPLOAD_BYTES;
  const id = newId('file');
  const key = fileStorageKey(caller.orgId, id);
  const validator = new ChatJsonlValidator();
  const hash = createHash('sha256');
  let bytes = 0;

  async function* tee(): AsyncGenerator<Buffer> {
    for await (const chunk of input.body) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      bytes += buf.length;
      if (bytes > maxBytes) {
        throw new DomainError('payload_too_large', `File exceeds the maximum upload size of ${maxBytes} bytes.`, { param: 'file' });
      }
      hash.update(buf);
      validator.write(buf);
      // Once the file is known to be invalid, keep validating but stop writing.
      if (validator.errorCount === 0) yield buf;
    }
    validator.end();
  }

  const store = storage();
  let stored = false;
  try {
    await store.put(key, Readable.from(tee()));
    stored = true;
    if (validator.errorCount > 0) throw validationError(validator);
    if (validator.examples === 0) {
      throw new DomainError('validation_failed', 'Invalid file format. The file is empty: it must contain at least one JSON line with a "messages" array.', {
        param: 'file',
      });
    }
    const purpose = checkPurpose(typeof input.purpose === 'function' ? await input.purpose() : input.purpose);
    const [row] = await db()
      .insert(schema.files)
      .values({ id, orgId: caller.orgId, filename, purpose, bytes, sha256: hash.digest('hex'), storageKey: key, examples: validator.examples, stats: validator.stats() })
      .returning();
    return row;
  } catch (e) {
    if (stored) await store.delete(key).catch(() => undefined);
    throw e;
  }
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
    .where(orgScope(caller, schema.files, opts.purpose ? eq(schema.files.purpose, opts.purpose) : undefined, cursor))
    .orderBy(desc(schema.files.createdAt), desc(schema.files.id))
    .limit(limit + 1);
  return toPage(rows, limit);
}

export async function getFile(caller: Caller, id: string): Promise<FileRow> {
  authorize(caller, 'read');
  return findOwned(caller, schema.files, id, 'file');
}

export async function fileContent(caller: Caller, id: string): Promise<{ file: FileRow; stream: Readable }> {
  const file = await getFile(caller, id);
  const stream = await storage().get(file.storageKey);
  return { file, stream };
}

export async function deleteFile(caller: Caller, id: string): Promise<{ id: string; deleted: true }> {
  authorize(caller, 'upload');
  const file = await findOwned(caller, schema.files, id, 'file');
  const [used] = await db()
    .select({ id: schema.jobs.id })
    .from(schema.jobs)
    .where(orgScope(caller, schema.jobs, or(eq(schema.jobs.trainingFileId, id), eq(schema.jobs.validationFileId, id))))
    .limit(1);
  if (used) throw new DomainError('conflict', `File '${id}' is used by fine-tuning job '${used.id}' and cannot be deleted.`, { param: 'id' });
  await db().delete(schema.files).where(orgScope(caller, schema.files, eq(schema.files.id, id)));
  await storage().delete(file.storageKey);
  return { id, deleted: true };
}
