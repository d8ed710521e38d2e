/**
 * Object bytes over plain HTTP(S): a GET of a presigned URL (or the platform's own route) and a
 * PUT with a Content-Length (presigned S3 URLs refuse chunked bodies). node:http streams straight
 * between the socket and the file: fetch's web streams cost a quarter of the throughput
 * (npm run bench:pools). Used by a platform pool's brokered store and an organization pool's agent.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A refusal by the store or the platform, with its HTTP status. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One request; `body` makes the stream to send (called once per request). */
function request(url: URL, method: string, headers: Record<string, string>, signal?: AbortSignal, body?: () => Readable): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, signal }, resolve);
    req.on('error', reject);
    if (body) body().on('error', reject).pipe(req);
    else req.end();
  });
}

/** The start of an answer's body, for an error message. */
async function answerText(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').slice(0, 500);
}

/** A GET whose answer is a success; `what` names the object in the error of any other answer. */
export async function openDownload(url: URL, headers: Record<string, string>, what: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const res = await request(url, 'GET', headers, signal);
  if ((res.statusCode ?? 500) >= 300) throw new HttpStatusError(res.statusCode ?? 500, `download of ${what} failed: ${res.statusCode} ${await answerText(res)}`);
  return res;
}

/** GET of an object into a file, its size checked when `expectedBytes` is given. */
export async function downloadToFile(url: string, headers: Record<string, string>, dest: string, expectedBytes?: number, signal?: AbortSignal): Promise<void> {
  const target = new URL(url);
  await mkdir(path.dirname(dest), { recursive: true });
  const res = await openDownload(target, headers, target.pathname, signal);
  await pipeline(res, createWriteStream(dest), ...(signal ? [{ signal }] : []));
  const { size } = await stat(dest);
  if (expectedBytes !== undefined && size !== expectedBytes) throw new Error(`download of ${target.pathname} has ${size} bytes, expected ${expectedBytes}`);
}

/**
 * PUT of `length` bytes with a Content-Length; the answer (its body read) once the store accepts
 * it. `what` names the object in the error of a refusal (by default the URL's path).
 */
export async function putWithLength(url: URL, headers: Record<string, string>, length: number, body: () => Readable, what = url.pathname, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const res = await request(url, 'PUT', { ...headers, 'content-length': String(length), 'content-type': 'application/octet-stream' }, signal, body);
  const answer = await answerText(res);
  if ((res.statusCode ?? 500) >= 300) throw new HttpStatusError(res.statusCode ?? 500, `upload of ${what} failed: ${res.statusCode} ${answer}`);
  return res;
}
