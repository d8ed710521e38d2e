/**
 * Local staging of uploaded bytes under `<DATA_DIR>/uploads/<org>/`: the request body is written
 * to disk as it arrives (constant memory whatever the size), hashed on the way, and removed by
 * whoever staged it once the upload is processed or has failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '@edgetune/config';
import { DomainError } from '@edgetune/contracts';

export type ByteSource = AsyncIterable<Uint8Array | string>;

export interface StagedFile {
  path: string;
  bytes: number;
  /** SHA-256 (hex) of the bytes as sent. */
  sha256: string;
}

export function stagingRoot(): string {
  return path.join(loadConfig().DATA_DIR, 'uploads');
}

/** The staging folder of one organization (an org's leftovers are easy to find and to test for). */
export function stagingDir(orgId: string): string {
  return path.join(stagingRoot(), orgId);
}

/** A fresh path in the org's staging folder (the folder exists afterwards). */
export async function stagingPath(orgId: string, suffix: string): Promise<string> {
  const dir = stagingDir(orgId);
  await mkdir(dir, { recursive: true });
  return path.join(dir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}${suffix}`);
}

export async function removeStaged(...paths: (string | null | undefined)[]): Promise<void> {
  await Promise.all(paths.filter((p): p is string => !!p).map((p) => rm(p, { force: true })));
}

export function tooLarge(maxBytes: number): DomainError {
  return new DomainError('payload_too_large', `The file is larger than the maximum upload size of ${maxBytes} bytes (MAX_UPLOAD_BYTES).`, { param: 'file' });
}

export function asBuffer(chunk: Uint8Array | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Writes `body` to a new staging file, refusing it as soon as it passes `maxBytes`. When
 * `expectedBytes` is known (a raw body's Content-Length), a body that ends early is an upload that
 * was cut off. Nothing is left on disk when this throws.
 */
export async function stageStream(orgId: string, body: ByteSource, opts: { maxBytes: number; expectedBytes?: number | null }): Promise<StagedFile> {
  const file = await stagingPath(orgId, '.upload');
  const hash = createHash('sha256');
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      const buf = asBuffer(chunk);
      bytes += buf.length;
      if (bytes > opts.maxBytes) throw tooLarge(opts.maxBytes);
      hash.update(buf);
      yield buf;
    }
  }
  try {
    await pipeline(Readable.from(counted()), createWriteStream(file, { flags: 'wx' }));
    if (opts.expectedBytes != null && bytes !== opts.expectedBytes) {
      throw new DomainError('invalid_request', `The upload was cut off: received ${bytes} of the ${opts.expectedBytes} bytes announced by Content-Length.`, {
        param: 'file',
      });
    }
    return { path: file, bytes, sha256: hash.digest('hex') };
  } catch (e) {
    await removeStaged(file);
    throw e;
  }
}
