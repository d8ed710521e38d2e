/**
 * Runs inside a validation thread (see ingest-threads.ts): ingests the uploads the parent sends,
 * several at once if asked, and answers each with its result or its error.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { DomainError } from '@edgetune/contracts';
import { ingestDataset } from './ingest';
import type { ThreadReply, ThreadRequest } from './ingest-threads';

const port = parentPort;
if (!port) throw new Error('ingest-thread-main.ts runs only as a worker thread.');

const running = new Map<number, AbortController>();

port.on('message', (msg: ThreadRequest) => {
  if (msg.kind === 'abort') {
    running.get(msg.id)?.abort(new Error('The upload was cancelled.'));
    return;
  }
  const ac = new AbortController();
  running.set(msg.id, ac);
  ingestDataset(msg.inputPath, msg.outputPath, { ...msg.opts, signal: ac.signal })
    .then(
      (result): ThreadReply => ({ kind: 'done', id: msg.id, result, threadId }),
      (e: unknown): ThreadReply =>
        e instanceof DomainError
          ? { kind: 'failed', id: msg.id, domain: { code: e.code, message: e.message, param: e.param, details: e.details } }
          : { kind: 'failed', id: msg.id, error: { message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack } },
    )
    .then((reply) => {
      running.delete(msg.id);
      port.postMessage(reply);
    });
});
