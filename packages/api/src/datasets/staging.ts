/**
 * Local staging of uploaded bytes under `<DATA_DIR>/uploads/<org>/` (the parts of a resumable
 * upload; a copy of a single-shot upload whose late fields may need it validated again), written
 * as it arrives (constant memory whatever the size) and removed by whoever staged it once the
 * upload is processed or has failed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '@edgetune/config';
import { DomainError } from '@edgetune/contracts';

export type ByteSource = AsyncIterable<Uint8Array | string>;

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
 * The body in pieces of `size` bytes (the last one shorter), gathered by copying into memory of
 * their own (which may be moved to another thread): network reads come in 16-64 KB, and every
 * later stage (staging, hand-over to the validation thread, the thread's reader) pays its
 * per-piece costs that many times less often.
 */
export async function* batched(body: ByteSource, size = 1 << 20): AsyncGenerator<Buffer> {
  let batch = Buffer.allocUnsafe(size);
  let n = 0;
  for await (const chunk of body) {
    let buf = asBuffer(chunk);
    while (buf.length) {
      const take = Math.min(size - n, buf.length);
      buf.copy(batch, n, 0, take);
      n += take;
      buf = buf.subarray(take);
      if (n === size) {
        yield batch;
        batch = Buffer.allocUnsafe(size);
        n = 0;
      }
    }
  }
  if (n) yield batch.subarray(0, n);
}

/**
 * A staging file written piece by piece. Each write has completed when `write` resolves, so the
 * caller may hand the piece on (move it to another thread) right after.
 */
export class StagingWriter {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(orgId: string): Promise<StagingWriter> {
    const file = await stagingPath(orgId, '.upload');
    return new StagingWriter(file, await open(file, 'wx'));
  }

  async write(buf: Buffer): Promise<void> {
    for (let done = 0; done < buf.length; ) done += (await this.fh.write(buf, done, buf.length - done)).bytesWritten;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  async remove(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await removeStaged(this.path);
  }
}
