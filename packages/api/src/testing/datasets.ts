/** Helpers of the dataset upload tests: what an organization has left behind, and test inputs. */
import { readdir } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { stagingDir } from '../datasets/staging';
import { getUpload, type UploadStatus } from '../datasets/uploads';
import type { Caller } from '../tenant';

/** Rows, objects and staged files an organization has: a failed upload must leave all empty. */
export async function leftovers(orgId: string): Promise<{ files: string[]; datasets: string[]; objects: string[]; staged: string[] }> {
  const files = (await db().select({ id: schema.files.id }).from(schema.files).where(eq(schema.files.orgId, orgId))).map((r) => r.id);
  const datasets = (await db().select({ id: schema.datasets.id }).from(schema.datasets).where(eq(schema.datasets.orgId, orgId))).map((r) => r.id);
  const objects = (await storage().list(`orgs/${orgId}`)).map((o) => o.key);
  let staged: string[] = [];
  try {
    staged = await readdir(stagingDir(orgId));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return { files, datasets, objects, staged };
}

export const nothingLeft = { files: [], datasets: [], objects: [], staged: [] };

/**
 * A valid zstd frame holding `data` in raw (stored) blocks: real zstd framing that any decoder
 * reads, written without a compressor (Node 20 has none built in).
 */
export function zstdFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(6);
  header.writeUInt32LE(0xfd2fb528, 0);
  header[4] = 0x00; // no single segment, no checksum, no dictionary, no content size
  header[5] = 0x58; // window descriptor: 2^(10+11) = 2 MiB
  parts.push(header);
  const max = 128 * 1024;
  if (data.length === 0) parts.push(Buffer.from([0x01, 0x00, 0x00])); // last, raw, size 0
  for (let off = 0; off < data.length; off += max) {
    const block = data.subarray(off, off + max);
    const last = off + max >= data.length ? 1 : 0;
    const h = last | (0 << 1) | (block.length << 3);
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), block);
  }
  return Buffer.concat(parts);
}

export const chatLine = (i: number) =>
  JSON.stringify({ messages: [{ role: 'user', content: `What is item ${i}?` }, { role: 'assistant', content: `Item ${i} is number ${i * 7} in the catalog.` }] });

export const chatJsonl = (n: number, from = 0) => Array.from({ length: n }, (_, i) => chatLine(from + i)).join('\n') + '\n';

/** An async byte source that yields `chunks` and then fails like a dropped connection. */
export async function* droppedAfter(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
  throw new Error('connection reset by peer');
}

/** Polls an upload until `done` holds of its status; fails after `ms` with the last status seen. */
export async function uploadWhen(caller: Caller, id: string, done: (s: UploadStatus) => boolean, ms = 30_000): Promise<UploadStatus> {
  const until = Date.now() + ms;
  for (;;) {
    const s = await getUpload(caller, id);
    if (done(s)) return s;
    if (Date.now() > until) throw new Error(`upload ${id} never got there: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
