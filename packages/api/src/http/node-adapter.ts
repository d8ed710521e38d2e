/**
 * A Fetch handler (Request → Response) behind a node:http server: the request's body streams in
 * and the answer's body streams out, never buffered whole.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface NodeAdapterOptions {
  /** The origin the request's path is resolved against; the Host header is the client's to choose, so routes get only the path and query. */
  base: string;
  /** Headers of every answer (the handler's own win), the 500 too. */
  headers?: Record<string, string>;
  /** A handler that threw before the answer began, before it is answered 500. */
  onError?: (err: unknown) => void;
}

/** Answers one node:http request with `handle`; a failure after the answer began cuts the connection. */
export async function answerWithFetch(req: IncomingMessage, res: ServerResponse, handle: (request: Request) => Promise<Response>, opts: NodeAdapterOptions): Promise<void> {
  try {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(new URL(req.url ?? '/', opts.base), {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
      duplex: 'half',
    } as RequestInit);
    const answer = await handle(request);
    res.writeHead(answer.status, { ...opts.headers, ...Object.fromEntries(answer.headers) });
    // pipeline destroys the answer's stream (a file, say) too when the client goes away mid-download.
    if (answer.body && req.method !== 'HEAD') await pipeline(Readable.fromWeb(answer.body as import('node:stream/web').ReadableStream), res);
    else res.end();
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    opts.onError?.(err);
    res.writeHead(500, { ...opts.headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: { code: 'internal', message: 'Internal error', param: null, details: [] } }));
  }
}
