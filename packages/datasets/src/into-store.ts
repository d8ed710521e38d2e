/**
 * Validation that stores its normalized output as it is made: the output streams into the object
 * store under a key (a multipart upload on S3) while the input is still being read, so nothing is
 * written twice or read back. Runs on a validation thread (ingest-thread-main.ts), whose small
 * heap collects the output's buffers cheaply (measured: on the web server's heap the garbage
 * collection they caused cost more CPU than validating them; npm run bench:datasets -- --e2e).
 */
import { PassThrough } from 'node:stream';
import { storage, type Storage } from '@edgetune/storage';
import { ingest, type IngestOptions, type IngestResult } from './ingest';

/**
 * `ingest` with its output stored under `key`. On any failure, of the validation, the input or
 * the store, the output is dropped and the first cause is thrown; what the store may hold of the
 * object is the caller's to delete.
 */
export async function ingestIntoStore(input: AsyncIterable<Uint8Array>, key: string, opts: IngestOptions, store: Storage = storage()): Promise<IngestResult> {
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  const stop = new AbortController();
  let failing = false;
  let storeError: unknown = null;
  const stored = store.put(key, output);
  stored.catch((e: unknown) => {
    // A store that failed because validation failed first (ingest destroys its output) did not
    // cause anything: the validation's error is the one to report.
    if (failing || output.destroyed) return;
    storeError = e;
    stop.abort(e);
  });
  try {
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    // ingest ends the output once all of it is written.
    const result = await ingest(input, output, { ...opts, signal });
    await stored;
    return result;
  } catch (e) {
    failing = true;
    output.destroy();
    await stored.catch(() => undefined);
    throw storeError ?? e;
  }
}
