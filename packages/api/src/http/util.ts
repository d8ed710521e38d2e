import { Readable } from 'node:stream';
import { DomainError } from '@edgetune/contracts';
import { loadConfig } from '@edgetune/config';
import { uploadVersion, type VersionFields, type VersionResult } from '../domain/files';
import { tooLarge } from '../domain/staging';
import type { Caller } from '../tenant';
import { multipartBoundary, parseMultipart, readText } from './multipart';

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/** A Node stream as a web Response body. */
export function streamBody(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}

export async function readJson(req: Request, max = 1024 * 1024): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.length > max) throw new DomainError('payload_too_large', 'Request body too large.');
  if (!text.trim()) return {};
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
    const fields: Record<string, string> = {};
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
              fields[rest.name] = await readText(rest.body);
            }
            const all = versionFields((n) => fields[n]);
            return { ...all, purpose: all.purpose ?? defaultPurpose };
          },
        });
      }
      fields[part.name] = await readText(part.body);
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
