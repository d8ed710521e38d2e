/**
 * Runs inside a validation thread (see ingest-threads.ts): ingests the uploads the parent sends,
 * several at once if asked, and answers each with its result or its error. An upload's bytes come
 * as messages; its normalized output goes back the same way, or into the object store from here.
 */
import { Writable } from 'node:stream';
import { parentPort, threadId } from 'node:worker_threads';
import { DomainError } from '@edgetune/contracts';
import { ChunkFeed } from './chunk-feed';
import { ingest } from './ingest';
import { ingestIntoStore } from './into-store';
import { ownBuffer, STREAM_WINDOW_BYTES, type ThreadReply, type ThreadRequest } from './ingest-threads';

const port = parentPort;
if (!port) throw new Error('ingest-thread-main.ts runs only as a worker thread.');

const ACK_BYTES = 4 << 20;

/**
 * The chunks of an upload, in order. The sender bounds what is in flight, so nothing waits here;
 * taken chunks are acknowledged in batches while more is queued (one message per piece is
 * measurable) and at once when nothing is (the sender may be waiting for room).
 */
function portInput(id: number): ChunkFeed {
  let unacked = 0;
  return new ChunkFeed(Infinity, (chunk, stillQueued) => {
    unacked += chunk.byteLength;
    if (unacked >= ACK_BYTES || stillQueued === 0) {
      port!.postMessage({ kind: 'in-ack', id, bytes: unacked } satisfies ThreadReply);
      unacked = 0;
    }
  });
}

/** The normalized output, sent to the parent; a write waits while too much is unacknowledged. */
class PortOutput extends Writable {
  private outstanding = 0;
  private waiting: (() => void) | null = null;

  constructor(private readonly id: number) {
    super({ highWaterMark: 1 << 20 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const own = ownBuffer(chunk);
    this.outstanding += own.byteLength;
    port!.postMessage({ kind: 'out', id: this.id, chunk: own } satisfies ThreadReply, [own.buffer as ArrayBuffer]);
    if (this.outstanding > STREAM_WINDOW_BYTES) this.waiting = () => done();
    else done();
  }

  acknowledged(bytes: number): void {
    this.outstanding -= bytes;
    if (this.waiting && this.outstanding <= STREAM_WINDOW_BYTES) {
      const w = this.waiting;
      this.waiting = null;
      w();
    }
  }
}

interface Running {
  ac: AbortController;
  input: ChunkFeed;
  /** Null when the thread stores the output itself. */
  output: PortOutput | null;
}

const running = new Map<number, Running>();

function reply(id: number, work: Promise<import('./ingest').IngestResult>): void {
  work
    .then(
      (result): ThreadReply => ({ kind: 'done', id, result, threadId }),
      (e: unknown): ThreadReply =>
        e instanceof DomainError
          ? { kind: 'failed', id, domain: { code: e.code, message: e.message, param: e.param, details: e.details } }
          : { kind: 'failed', id, error: { message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack } },
    )
    .then((r) => {
      running.delete(id);
      port!.postMessage(r);
    });
}

port.on('message', (msg: ThreadRequest) => {
  const r = running.get(msg.id);
  switch (msg.kind) {
    case 'abort': {
      const why = new Error('The upload was cancelled.');
      r?.ac.abort(why);
      r?.input.fail(why);
      return;
    }
    case 'chunk':
      void r?.input.push(msg.chunk);
      return;
    case 'end':
      r?.input.end();
      return;
    case 'out-ack':
      r?.output?.acknowledged(msg.bytes);
      return;
    case 'stream': {
      const s: Running = { ac: new AbortController(), input: portInput(msg.id), output: msg.storeKey ? null : new PortOutput(msg.id) };
      running.set(msg.id, s);
      const opts = { ...msg.opts, signal: s.ac.signal };
      if (s.output) {
        // The output's own error (none is expected: it only posts messages) must not go unhandled.
        s.output.on('error', () => undefined);
        reply(msg.id, ingest(s.input, s.output, opts));
      } else {
        reply(msg.id, ingestIntoStore(s.input, msg.storeKey!, opts));
      }
      return;
    }
  }
});
