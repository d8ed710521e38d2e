/**
 * Files a llama.cpp tool computes once per job and several activities reuse on this machine (the
 * F16 reference's logits, the importance matrix), with what the tool said about them. Written
 * atomically; the most recently used few of each kind are kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const KEEP_PER_KIND = 2;

function cacheDir(): string {
  return process.env.EDGETUNE_TOOL_CACHE_DIR || path.join(os.tmpdir(), 'edgetune-tool-cache');
}

export function cacheId(identity: string): string {
  return createHash('sha256').update(identity).digest('hex').slice(0, 32);
}

async function evict(dir: string, ext: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(ext));
  const entries = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  entries.sort((a, b) => b.t - a.t);
  for (const e of entries.slice(KEEP_PER_KIND)) {
    await rm(path.join(dir, e.n), { force: true });
    await rm(path.join(dir, `${e.n}.json`), { force: true });
  }
}

/**
 * The cached file for `identity` of kind `ext` (e.g. '.kld'), produced by `produce(tmpPath)` when
 * absent; `produce` returns what to remember about it.
 */
export async function cachedFile<T>(identity: string, ext: string, produce: (tmpPath: string) => Promise<T>): Promise<{ path: string; meta: T }> {
  const dir = cacheDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${cacheId(identity)}${ext}`);
  const sidecar = `${file}.json`;
  if (existsSync(file)) {
    const meta = await readFile(sidecar, 'utf8').then((t) => JSON.parse(t) as T, () => null);
    if (meta !== null) {
      const now = new Date();
      await utimes(file, now, now).catch(() => undefined); // most recently used survives eviction
      return { path: file, meta };
    }
  }
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    const meta = await produce(tmp);
    await writeFile(sidecar, JSON.stringify(meta));
    await rename(tmp, file);
    await evict(dir, ext);
    return { path: file, meta };
  } finally {
    await rm(tmp, { force: true });
  }
}
