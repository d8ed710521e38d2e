/**
 * Downloads a target file into its `.part` file, resuming from the bytes already there with an
 * HTTP Range request (a cut connection or a restart costs only what was not yet received), then
 * checks its length and sha256 against the verified TUF target with the library's own check.
 */
import { createReadStream, createWriteStream, existsSync, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TargetFile } from '@tufjs/models';

export interface DownloadResult {
  file: string;
  /** Bytes fetched by this call (less than the file when it resumed). */
  fetched: number;
  resumedFrom: number;
}

export async function downloadTarget(url: string, token: string, target: TargetFile, part: string): Promise<DownloadResult> {
  let have = existsSync(part) ? statSync(part).size : 0;
  if (have > target.length) {
    rmSync(part);
    have = 0;
  }
  let fetched = 0;
  if (have < target.length) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...(have ? { range: `bytes=${have}-` } : {}) } });
    if (res.status === 416) {
      rmSync(part, { force: true });
      throw new Error(`the server refused to resume at byte ${have}; the download starts over next time`);
    }
    if (!res.ok || !res.body) throw new Error(`downloading ${target.path} failed (${res.status})`);
    // A server that ignores Range answers 200 with the whole file: start the part file over.
    const append = res.status === 206 && have > 0;
    if (!append) have = 0;
    const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
    let received = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (c: Buffer) => {
      received += c.length;
      // Never write past the length the signed metadata allows (an endless-data attack).
      if (have + received > target.length) body.destroy(new Error(`the server sent more than the ${target.length} bytes of ${target.path}`));
    });
    await pipeline(body, out);
    fetched = received;
  }
  try {
    await target.verify(createReadStream(part));
  } catch (e) {
    rmSync(part, { force: true });
    throw new Error(`${target.path} failed verification and was deleted: ${(e as Error).message}`);
  }
  return { file: part, fetched, resumedFrom: have };
}
