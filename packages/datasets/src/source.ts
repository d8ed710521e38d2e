import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { DomainError, type DatasetCompression, type DatasetContainer } from '@edgetune/contracts';

/**
 * Opening an uploaded file: what it is (by its first bytes, not only its name), and its bytes
 * decompressed as a stream with a decompression-bomb guard.
 */

export type Compression = DatasetCompression;
export type Container = DatasetContainer;

export const READ_CHUNK = 1 << 20;
/** Decompressed/compressed ratio above which a stream is treated as a bomb (checked past a floor). */
export const DEFAULT_MAX_RATIO = 1000;
const RATIO_FLOOR = 64 << 20;

export function fail(message: string, param = 'file'): DomainError {
  return new DomainError('validation_failed', message, { param });
}

export async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

export const isParquet = (head: Buffer): boolean => head.length >= 4 && head.toString('latin1', 0, 4) === 'PAR1';

const knownBinary: [string, (b: Buffer) => boolean][] = [
  ['a ZIP archive (or an Excel/Office file)', (b) => b.length >= 4 && b.readUInt32LE(0) === 0x04034b50],
  ['a PDF document', (b) => b.toString('latin1', 0, 5) === '%PDF-'],
  ['a PNG image', (b) => b.length >= 4 && b.readUInt32BE(0) === 0x89504e47],
  ['a JPEG image', (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['a bzip2 archive', (b) => b.toString('latin1', 0, 3) === 'BZh'],
  ['an xz archive', (b) => b.length >= 6 && b.toString('latin1', 1, 6) === '7zXZ\u0000'],
  ['a 7-Zip archive', (b) => b.length >= 2 && b.toString('latin1', 0, 2) === '7z'],
  ['a SQLite database', (b) => b.toString('latin1', 0, 15) === 'SQLite format 3'],
];

/**
 * Refuses content that is clearly not text before validating it line by line (which would report
 * thousands of meaningless "invalid JSON" errors). `head` is the start of the decompressed bytes.
 */
export function assertText(head: Buffer, compression: Compression): void {
  const inside = compression === 'none' ? '' : ` (inside the ${compression} stream)`;
  for (const [what, test] of knownBinary) {
    if (test(head)) throw fail(`This is not a JSONL, CSV or Parquet file: it looks like ${what}${inside}.`);
  }
  if (head.length === 0) return;
  let control = 0;
  let nul = -1;
  for (let i = 0; i < head.length; i++) {
    const c = head[i];
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) {
      control++;
      if (c === 0 && nul < 0) nul = i;
    }
  }
  // Text never contains NUL; a few stray control characters are tolerated (the record check names them).
  if (nul >= 0 || control > head.length / 100) {
    const why = nul >= 0 ? `a NUL byte at offset ${nul}` : `${control} control bytes in the first ${head.length}`;
    throw fail(`This is not a JSONL, CSV or Parquet file: its first bytes are binary (${why})${inside}.`);
  }
}

/** A stream's chunks as they come (a file is read by plainChunks instead). */
async function* countedChunks(source: AsyncIterable<Buffer>, stats: ByteStats, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for await (const c of source) {
    signal?.throwIfAborted();
    stats.compressedBytes += c.length;
    stats.bytes += c.length;
    yield c;
  }
}

/**
 * An uncompressed file in READ_CHUNK pieces through two reused buffers: the next piece is read
 * while the caller works on the current one. A yielded buffer is only valid until the caller asks
 * for the next (readers copy what they keep); no buffer per read piles up waiting for the GC.
 */
async function* plainChunks(path: string, stats: ByteStats, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  let pending: Promise<{ bytesRead: number }> | null = null;
  try {
    const bufs = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
    let turn = 0;
    let pos = 0;
    pending = fh.read(bufs[0], 0, READ_CHUNK, pos);
    for (;;) {
      const { bytesRead } = await pending;
      pending = null;
      if (bytesRead === 0) return;
      signal?.throwIfAborted();
      const current = bufs[turn];
      pos += bytesRead;
      turn ^= 1;
      pending = fh.read(bufs[turn], 0, READ_CHUNK, pos);
      stats.compressedBytes += bytesRead;
      stats.bytes += bytesRead;
      yield current.subarray(0, bytesRead);
    }
  } finally {
    // Stopped early (error, abort): let the read ahead finish before closing the file.
    if (pending) await (pending as Promise<unknown>).catch(() => undefined);
    await fh.close();
  }
}

export interface ByteStats {
  /** Bytes read from the file (the upload as sent). */
  compressedBytes: number;
  /** Bytes after decompression. */
  bytes: number;
}

/**
 * The file's bytes, decompressed, as a stream of chunks. Throws a DomainError naming the problem
 * for truncated or corrupt compressed data and for a decompression bomb (over `maxBytes`, or a
 * ratio over `maxRatio` once past 64 MB).
 */
export async function* decodedChunks(
  source: string | AsyncIterable<Buffer>,
  compression: Compression,
  stats: ByteStats,
  limits: { maxBytes: number; maxRatio: number },
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  if (compression === 'none') {
    yield* typeof source === 'string' ? plainChunks(source, stats, signal) : countedChunks(source, stats, signal);
    return;
  }
  const input: Readable = typeof source === 'string' ? createReadStream(source, { highWaterMark: READ_CHUNK, signal }) : Readable.from(source, { objectMode: false });
  const guard = (n: number): void => {
    stats.bytes += n;
    if (stats.bytes > limits.maxBytes) {
      throw fail(`The file decompresses to more than ${limits.maxBytes} bytes (the maximum); it looks like a decompression bomb or is too large to accept.`);
    }
    if (stats.bytes > RATIO_FLOOR && stats.bytes > stats.compressedBytes * limits.maxRatio) {
      throw fail(`The file expands more than ${limits.maxRatio}× when decompressed; refusing it as a likely decompression bomb.`);
    }
  };
  try {
    if (compression === 'gzip') {
      const gunzip = createGunzip({ chunkSize: 256 << 10 });
      input.on('data', (c: string | Buffer) => {
        stats.compressedBytes += c.length;
      });
      input.on('error', (e) => gunzip.destroy(e));
      input.pipe(gunzip);
      try {
        for await (const c of gunzip) {
          guard((c as Buffer).length);
          yield c as Buffer;
        }
      } catch (e) {
        if (e instanceof DomainError) throw e;
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
          throw fail(`The gzip stream is truncated after ${stats.bytes} decompressed bytes (unexpected end of file); the upload may have been cut off.`);
        }
        if (err.code?.startsWith('Z_')) throw fail(`The gzip data is corrupt after ${stats.bytes} decompressed bytes (${err.message}).`);
        throw e;
      } finally {
        input.destroy();
        gunzip.destroy();
      }
      return;
    }
    // zstd: fzstd decodes synchronously into a callback. Input goes in small slices and the guard
    // runs inside the callback, so one slice of a bomb cannot expand far before it is refused.
    let out: Buffer[] = [];
    const z = new Decompress((d: Uint8Array) => {
      guard(d.byteLength);
      out.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    });
    const push = (c: Uint8Array, final: boolean): void => {
      try {
        z.push(c, final);
      } catch (e) {
        if (e instanceof DomainError) throw e;
        const code = (e as { code?: number }).code;
        if (code === 5 || /unexpected EOF/i.test((e as Error).message)) {
          throw fail(`The zstd stream is truncated after ${stats.bytes} decompressed bytes (unexpected end of file); the upload may have been cut off.`);
        }
        throw fail(`The zstd data is corrupt after ${stats.bytes} decompressed bytes (${(e as Error).message}).`);
      }
    };
    const SLICE = 64 << 10;
    for await (const c of input) {
      const buf = c as Buffer;
      for (let i = 0; i < buf.length; i += SLICE) {
        const part = buf.subarray(i, Math.min(buf.length, i + SLICE));
        stats.compressedBytes += part.length;
        push(part, false);
        if (out.length) {
          const ready = out;
          out = [];
          yield* ready;
        }
      }
    }
    push(new Uint8Array(0), true);
    yield* out;
  } finally {
    input.destroy();
  }
}

/** First offset of an invalid UTF-8 sequence in `b` (only called on lines known to be invalid). */
export function invalidUtf8At(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > b.length || !isUtf8(b.subarray(i, i + n))) return i;
    i += n;
  }
  return b.length;
}

/** Refuses binary content on the first decoded chunk. */
export async function* withTextCheck(chunks: AsyncIterable<Buffer>, compression: Compression): AsyncGenerator<Buffer> {
  let first = true;
  for await (const c of chunks) {
    if (first) {
      first = false;
      assertText(c.subarray(0, 64 << 10), compression);
    }
    yield c;
  }
}

export async function* tee(chunks: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const c of chunks) {
    hash.update(c);
    yield c;
  }
}

/** CSV text must be UTF-8: the line of the first invalid byte is named (csv-parse would replace it silently). */
export async function* utf8Checked(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let tail = Buffer.alloc(0);
  let line = 1;
  for await (const c of chunks) {
    const buf = tail.length ? Buffer.concat([tail, c]) : c;
    // Keep an incomplete trailing sequence for the next chunk.
    let cut = buf.length;
    for (let k = 1; k <= 3 && k <= buf.length; k++) {
      const b = buf[buf.length - k];
      if (b >= 0xc0) {
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (need > k) cut = buf.length - k;
        break;
      }
      if (b < 0x80) break;
    }
    const body = buf.subarray(0, cut);
    if (!isUtf8(body)) {
      const at = invalidUtf8At(body);
      let l = line;
      for (let p = body.indexOf(10); p >= 0 && p < at; p = body.indexOf(10, p + 1)) l++;
      throw fail(`Line ${l} of the CSV file: invalid UTF-8 (byte 0x${body[at].toString(16)}); the file must be UTF-8 encoded.`);
    }
    for (let p = body.indexOf(10); p >= 0; p = body.indexOf(10, p + 1)) line++;
    tail = Buffer.from(buf.subarray(cut));
    // A copy: csv-parse may queue the chunk, and the reader reuses its buffers.
    yield Buffer.from(body);
  }
  if (tail.length) throw fail(`The CSV file ends in the middle of a UTF-8 character (line ${line}); it may be truncated.`);
}

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20, signal })) h.update(c as Buffer);
  return h.digest('hex');
}
