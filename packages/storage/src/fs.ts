import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertKey, StorageNotFound, type ByteRange, type ObjectInfo, type PresignOptions, type Storage } from './index';

/** Filesystem object store: key = path under root; writes land atomically via rename. */
export class FsStorage implements Storage {
  constructor(readonly root: string) {}

  private file(key: string): string {
    assertKey(key);
    return path.join(this.root, key);
  }

  async put(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    const dest = this.file(key);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
      await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const s = await stat(dest);
    return { key, sizeBytes: s.size, modifiedAt: s.mtime };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const f = this.file(key);
    try {
      const s = await stat(f);
      if (!s.isFile()) throw new StorageNotFound(key);
    } catch (e) {
      if (e instanceof StorageNotFound || (e as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFound(key);
      throw e;
    }
    return createReadStream(f, range ? { start: range.start, end: range.end } : undefined);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.file(key));
      return s.isFile() ? { key, sizeBytes: s.size, modifiedAt: s.mtime } : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const n = (await this.list(prefix)).length;
    await rm(path.join(this.root, prefix), { recursive: true, force: true });
    return n;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertKey(prefix);
    const base = path.join(this.root, prefix);
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && !e.name.includes('.tmp-')) {
          const s = await stat(full);
          out.push({ key: path.relative(this.root, full).split(path.sep).join('/'), sizeBytes: s.size, modifiedAt: s.mtime });
        }
      }
    };
    await walk(base);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  localPath(key: string): string {
    return this.file(key);
  }

  /** A filesystem cannot sign URLs: callers stream through the platform instead. */
  async presignGet(_key: string, _opts: PresignOptions): Promise<null> {
    return null;
  }

  async presignPut(_key: string, _opts: PresignOptions): Promise<null> {
    return null;
  }

  async probe(): Promise<void> {
    const key = `_health/probe-${process.pid}`;
    await this.put(key, 'ok');
    await this.delete(key);
  }
}
