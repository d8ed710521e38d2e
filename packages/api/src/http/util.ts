import { Readable } from 'node:stream';
import contentDisposition from 'content-disposition';
import { DomainError } from '@edgetune/contracts';
import { loadConfig } from '@edgetune/config';
import { uploadVersion, type VersionFields, type VersionResult } from '../datasets/files';
import { tooLarge } from '../datasets/staging';
import type { Caller } from '../tenant';
import { multipartBoundary, parseMultipart, readText } from './multipart';

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/**
 * `Content-Disposition: attachment` for any file name: an ASCII fallback plus the UTF-8 name
 * (RFC 6266 / 8187), since header values must be bytes (a raw `数据.jsonl` made the response throw).
 */
export function attachment(filename: string): string {
  return contentDisposition(filename, { type: 'attachment' });
}

/** A Node stream as a web Response body. */
export function streamBody(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}

/** A file answered whole (200), in part (206) or not at all (416), by a parsed Range; HEAD without the body. */
export function rangedFile(
  req: Request,
  d: { size: number; range: { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' }; stream: Readable | null },
  headers: Record<string, string>,
): Response {
  const base = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', ...headers };
  if (d.range.kind === 'unsatisfiable') return new Response(null, { status: 416, headers: { ...base, 'content-range': `bytes */${d.size}` } });
  const isHead = req.method === 'HEAD';
  if (isHead) d.stream?.destroy();
  const body = isHead ? null : streamBody(d.stream!);
  if (d.range.kind === 'partial') {
    const { start, end } = d.range;
    return new Response(body, { status: 206, headers: { ...base, 'content-range': `bytes ${start}-${end}/${d.size}`, 'content-length': String(end - start + 1) } });
  }
  return new Response(body, { status: 200, headers: { ...base, 'content-length': String(d.size) } });
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery guard for cookie-authenticated writes: the request must say it comes
 * from this origin (browsers send `Origin` with every POST, PUT, PATCH and DELETE, and
 * `Sec-Fetch-Site`). The origin is the request URL's or PUBLIC_URL's (behind a proxy the two differ).
 */
export function assertSameOrigin(req: Request): void {
  if (safeMethods.has(req.method)) return;
  const origin = req.headers.get('origin');
  const site = req.headers.get('sec-fetch-site');
  const own = new Set([new URL(req.url).origin, new URL(loadConfig().PUBLIC_URL).origin]);
  if (origin ? own.has(origin) : site === 'same-origin') return;
  throw new DomainError('forbidden', 'Cross-site request refused: a request signed in by cookie must come from the portal itself. Programs use an API key (Authorization: Bearer).');
}

/** The most a JSON request body (REST, OpenAI-compatible, tRPC) may hold. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

const bodyTooLarge = (max: number) => new DomainError('payload_too_large', `Request body too large: the limit is ${max} bytes.`);

/**
 * A request's body, counted as it streams: refused from a larger Content-Length before a byte is
 * read, and the stream is cancelled at the first byte past `max` (a client cannot make the server
 * buffer more than it allows by lying about, or leaving out, the length).
 */
export async function readBodyBytes(req: Request, max: number): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== null && declared > max) throw bodyTooLarge(max);
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge(max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, n);
}

/**
 * Whether text holds a NUL character, raw or as a JSON escape. PostgreSQL text cannot hold one,
 * so inputs with it are refused at the edge rather than failing in a query.
 */
export function hasNul(text: string): boolean {
  return text.includes('\0') || /\\u0000/i.test(text);
}

export async function readJson(req: Request, max = MAX_JSON_BODY_BYTES): Promise<Record<string, unknown>> {
  const text = (await readBodyBytes(req, max)).toString('utf8');
  if (!text.trim()) return {};
  if (hasNul(text)) throw new DomainError('invalid_request', 'The JSON body contains a NUL character (\\u0000), which no field may hold.');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new DomainError('invalid_request', 'We could not parse the JSON body of your request.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new DomainError('invalid_request', 'The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

export function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new DomainError('invalid_request', `'${name}' must be an integer.`, { param: name });
  return n;
}

const emptyBody: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

/** Room for multipart framing and small fields around the file in a declared Content-Length. */
const MULTIPART_OVERHEAD = 1024 * 1024;
/** Form fields beside the file: how many, how many bytes each, and how many bytes in all. */
const MAX_FORM_FIELDS = 32;
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_FIELDS_TOTAL_BYTES = 256 * 1024;

/** The upload fields of a form or a query string (`columns` as JSON text). */
function versionFields(get: (name: string) => string | null | undefined): VersionFields {
  return {
    purpose: get('purpose') ?? undefined,
    dataset: get('dataset') ?? undefined,
    format: get('format') ?? undefined,
    columns: get('columns') ?? undefined,
    baseModel: get('base_model') ?? get('baseModel') ?? undefined,
  };
}

function contentLength(req: Request): number | null {
  const v = req.headers.get('content-length');
  if (v === null || !/^\d+$/.test(v.trim())) return null;
  return Number(v);
}

/**
 * Uploads a dataset file from a request: multipart/form-data (fields `file`, `purpose`, and the
 * optional `dataset`, `format`, `columns` (JSON), `base_model`, in any order) or a raw body with
 * the same names as query parameters plus `filename`. Streams to a staging file; never buffers the
 * file. A declared size over the limit is refused before any byte is read.
 */
export async function uploadFromRequest(caller: Caller, req: Request, defaultPurpose: string | null = null): Promise<VersionResult> {
  const contentType = req.headers.get('content-type');
  const body = (req.body ?? emptyBody) as unknown as AsyncIterable<Uint8Array>;
  const declared = contentLength(req);
  const maxBytes = loadConfig().MAX_UPLOAD_BYTES;
  const boundary = multipartBoundary(contentType);
  const signal = req.signal;
  if (boundary) {
    if (declared !== null && declared > maxBytes + MULTIPART_OVERHEAD) throw tooLarge(maxBytes);
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    let fieldCount = 0;
    let fieldBytes = 0;
    // Every field is read with a byte limit, and the fields together too, so no sequence of
    // parts before (or after) the file makes the server buffer more than MAX_FIELDS_TOTAL_BYTES.
    const readField = async (name: string, partBody: AsyncIterable<Buffer>) => {
      if (++fieldCount > MAX_FORM_FIELDS) throw new DomainError('invalid_request', `Too many form fields: at most ${MAX_FORM_FIELDS} besides the file.`);
      const param = name.slice(0, 100);
      const text = await readText(
        partBody,
        Math.min(MAX_FIELD_BYTES, MAX_FIELDS_TOTAL_BYTES - fieldBytes),
        () => new DomainError('invalid_request', `Form field '${param}' is too large: each field beside the file may hold ${MAX_FIELD_BYTES} bytes, all of them together ${MAX_FIELDS_TOTAL_BYTES}.`, { param }),
      );
      fieldBytes += Buffer.byteLength(text);
      fields[name] = text;
    };
    const parts = parseMultipart(body, boundary);
    for await (const part of parts) {
      if (part.name === 'file') {
        const early = versionFields((n) => fields[n]);
        return await uploadVersion(caller, {
          ...early,
          purpose: early.purpose ?? null,
          filename: part.filename ?? 'upload.jsonl',
          body: part.body,
          signal,
          lateFields: async () => {
            for await (const rest of parts) {
              if (rest.name === 'file') throw new DomainError('invalid_request', 'Send exactly one file.', { param: 'file' });
              await readField(rest.name, rest.body);
            }
            const all = versionFields((n) => fields[n]);
            return { ...all, purpose: all.purpose ?? defaultPurpose };
          },
        });
      }
      await readField(part.name, part.body);
    }
    throw new DomainError('invalid_request', "Missing required parameter: 'file'.", { param: 'file' });
  }
  if (contentType && /^multipart\//i.test(contentType)) throw new DomainError('invalid_request', 'multipart body without a boundary.');
  const url = new URL(req.url);
  const q = versionFields((n) => url.searchParams.get(n));
  return uploadVersion(caller, {
    ...q,
    purpose: q.purpose ?? defaultPurpose,
    filename: url.searchParams.get('filename') ?? 'upload.jsonl',
    body,
    declaredBytes: declared,
    signal,
  });
}
