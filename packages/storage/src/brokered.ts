import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpStatusError, openDownload, putWithLength } from './http-transfer';
import { assertKey, type ByteRange, type ObjectInfo, type Storage } from './index';

/** How long a call rides out a platform that is restarting or refusing for now (5xx, 429, unreachable). */
const RETRY_FOR_MS = 120_000;
const PARTS_IN_FLIGHT = 4;

type Target = { url: string; platform: boolean };

/**
 * The object store of a platform pool's worker that holds no store keys: every object is reached
 * with the job's storage grant through the platform (`POST /api/v1/storage/broker`), which answers
 * with a presigned URL (or its own route, on a filesystem store). Bytes go straight between the
 * worker and the store.
 */
export class BrokeredStorage implements Storage {
  private readonly base: string;

  constructor(
    platformUrl: string,
    private readonly grant: string,
  ) {
    this.base = platformUrl.replace(/\/+$/, '');
  }

  private auth(platform: boolean): Record<string, string> {
    return platform ? { authorization: `Bearer ${this.grant}` } : {};
  }

  private resolve(t: Target): URL {
    return new URL(t.platform ? `${this.base}${t.url}` : t.url);
  }

  /** One broker request; 4xx answers are final, the rest is retried with backoff. */
  async call<T>(body: Record<string, unknown>): Promise<T> {
    const started = Date.now();
    for (let backoff = 500; ; backoff = Math.min(backoff * 2, 10_000)) {
      let res: Response | null = null;
      try {
        res = await fetch(`${this.base}/api/v1/storage/broker`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.grant}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      } catch (e) {
        if (Date.now() - started > RETRY_FOR_MS) throw new Error(`the platform at ${this.base} is unreachable: ${(e as Error).message}`);
      }
      if (res) {
        const text = await res.text();
        if (res.ok) return JSON.parse(text) as T;
        if (res.status < 500 && res.status !== 429) {
          let message = text;
          try {
            message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
          } catch {
            // not JSON: keep the text
          }
          throw new HttpStatusError(res.status, `storage ${String(body.op)} ${String(body.key ?? body.prefix)}: ${res.status} ${message}`);
        }
        if (Date.now() - started > RETRY_FOR_MS) throw new HttpStatusError(res.status, `storage ${String(body.op)}: ${res.status} ${text.slice(0, 300)}`);
      }
      await new Promise((r) => setTimeout(r, backoff));
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertKey(key);
    try {
      const r = await this.call<{ size_bytes: number }>({ op: 'head', key });
      return { key, sizeBytes: r.size_bytes, modifiedAt: new Date(0) };
    } catch (e) {
      if (e instanceof HttpStatusError && e.status === 404) return null;
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertKey(key);
    const t = await this.call<Target & { size_bytes: number }>({ op: 'get', key });
    return openDownload(this.resolve(t), { ...this.auth(t.platform), ...(range ? { range: `bytes=${range.start}-${range.end}` } : {}) }, key);
  }

  async put(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    assertKey(key);
    if (typeof body === 'string' || Buffer.isBuffer(body)) return this.putBytes(key, Buffer.from(body));
    // A presigned PUT needs its length up front: a whole file's is known, any other stream is spooled.
    const rs = body as Readable & { path?: unknown; start?: number; end?: number };
    if (typeof rs.path === 'string' && !rs.start && (rs.end === undefined || rs.end === Infinity)) {
      body.destroy();
      return this.putFile(key, rs.path);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'edgetune-put-'));
    try {
      const spooled = path.join(dir, 'body');
      await pipeline(body, createWriteStream(spooled));
      return await this.putFile(key, spooled);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async putBytes(key: string, bytes: Buffer): Promise<ObjectInfo> {
    const t = await this.call<Target>({ op: 'put', key, size_bytes: bytes.length });
    await putWithLength(this.resolve(t), this.auth(t.platform), bytes.length, () => Readable.from([bytes]));
    return { key, sizeBytes: bytes.length, modifiedAt: new Date() };
  }

  /** One file: a single PUT, or parts (several in flight) joined by the platform. */
  async putFile(key: string, file: string, partBytes?: number): Promise<ObjectInfo> {
    const { size } = await stat(file);
    const t = await this.call<Target | { upload_id: string; part_bytes: number; urls: string[] }>({ op: 'put', key, size_bytes: size, ...(partBytes ? { part_bytes: partBytes } : {}) });
    if ('url' in t) {
      await putWithLength(this.resolve(t), this.auth(t.platform), size, () => createReadStream(file));
      return { key, sizeBytes: size, modifiedAt: new Date() };
    }
    const etags: string[] = new Array(t.urls.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < t.urls.length; i = next++) {
        const start = i * t.part_bytes;
        const end = Math.min(size, start + t.part_bytes);
        const res = await putWithLength(new URL(t.urls[i]!), {}, end - start, () => createReadStream(file, { start, end: end - 1 }));
        const etag = res.headers.etag;
        if (!etag) throw new Error(`the object store returned no ETag for part ${i + 1} of ${key}`);
        etags[i] = etag;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, t.urls.length) }, worker));
      const done = await this.call<{ size_bytes: number }>({ op: 'complete', key, upload_id: t.upload_id, parts: etags.map((etag, i) => ({ part_number: i + 1, etag })) });
      return { key, sizeBytes: done.size_bytes, modifiedAt: new Date() };
    } catch (e) {
      await this.call({ op: 'abort', key, upload_id: t.upload_id }).catch(() => undefined);
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertKey(prefix);
    const r = await this.call<{ objects: { key: string; size_bytes: number }[] }>({ op: 'list', prefix });
    return r.objects.map((o) => ({ key: o.key, sizeBytes: o.size_bytes, modifiedAt: new Date(0) }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertKey(prefix);
    return (await this.call<{ deleted: number }>({ op: 'delete_prefix', prefix })).deleted;
  }

  async delete(key: string): Promise<void> {
    throw new Error(`a storage grant deletes whole prefixes only; cannot delete the single object ${key}`);
  }

  localPath(): null {
    return null;
  }

  /** A grant's holder hands out no URLs of its own. */
  async presignGet(): Promise<null> {
    return null;
  }

  async presignPut(): Promise<null> {
    return null;
  }

  async probe(): Promise<void> {
    await this.call({ op: 'list', prefix: '_health' }).catch((e: unknown) => {
      // A grant covers its job's keys only: a 404 for the probe still proves the grant and the platform answer.
      if (!(e instanceof HttpStatusError && e.status === 404)) throw e;
    });
  }
}
