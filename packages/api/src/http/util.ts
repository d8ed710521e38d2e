import { Readable } from 'node:stream';
import { DomainError } from '@edgetune/contracts';
import { uploadFile, type FileRow } from '../domain/files';
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

/**
 * Uploads a file from a request: multipart/form-data (fields `file` and `purpose`, in any order)
 * or a raw JSONL body with `?filename=…&purpose=…`. Streams; never buffers the file.
 */
export async function uploadFromRequest(caller: Caller, req: Request, defaultPurpose: string | null = null): Promise<FileRow> {
  const contentType = req.headers.get('content-type');
  const body = (req.body ?? emptyBody) as unknown as AsyncIterable<Uint8Array>;
  const boundary = multipartBoundary(contentType);
  if (boundary) {
    const fields: Record<string, string> = {};
    const parts = parseMultipart(body, boundary);
    for await (const part of parts) {
      if (part.name === 'file') {
        return await uploadFile(caller, {
          filename: part.filename ?? 'upload.jsonl',
          body: part.body,
          purpose: async () => {
            for await (const rest of parts) {
              if (rest.name === 'file') throw new DomainError('invalid_request', 'Send exactly one file.', { param: 'file' });
              fields[rest.name] = await readText(rest.body);
            }
            return fields.purpose ?? defaultPurpose;
          },
        });
      }
      fields[part.name] = await readText(part.body);
    }
    throw new DomainError('invalid_request', "Missing required parameter: 'file'.", { param: 'file' });
  }
  if (contentType && /^multipart\//i.test(contentType)) throw new DomainError('invalid_request', 'multipart body without a boundary.');
  const url = new URL(req.url);
  return uploadFile(caller, {
    filename: url.searchParams.get('filename') ?? 'upload.jsonl',
    purpose: url.searchParams.get('purpose') ?? defaultPurpose,
    body,
  });
}
