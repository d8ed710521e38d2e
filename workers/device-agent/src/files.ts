import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Storage } from '@edgetune/storage';

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** True when the file starts with the GGUF magic. */
export async function isGguf(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    await fh.read(buf, 0, 4, 0);
    return buf.toString('latin1') === 'GGUF';
  } finally {
    await fh.close();
  }
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `edgetune-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A local file holding the object: the store's own file when it is a filesystem, else a
 * download into `scratch` (size verified against head()).
 */
export async function localCopy(store: Storage, key: string, scratch: string): Promise<string> {
  const info = await store.head(key);
  if (!info) throw new Error(`No object at ${key}`);
  const direct = store.localPath(key);
  if (direct) return direct;
  const dest = path.join(scratch, `${randomBytes(4).toString('hex')}-${path.basename(key)}`);
  await pipeline(await store.get(key), createWriteStream(dest, { flags: 'wx' }));
  const s = await stat(dest);
  if (s.size !== info.sizeBytes) throw new Error(`Download of ${key} is ${s.size} bytes, expected ${info.sizeBytes}`);
  return dest;
}
