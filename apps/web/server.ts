/**
 * The web app's HTTP server: Next.js behind a plain Node server, so the client address comes
 * from the socket. Route handlers never see the connection, only headers; this server resolves
 * the address once (the socket's peer, or X-Forwarded-For as far as TRUST_PROXY_HOPS trusts it)
 * and hands it on in a header that it always overwrites. Listens on HOST:PORT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import next from 'next';
import { answerWithFetch, handleRest, isDeviceRequest } from '@edgetune/api';
import { CLIENT_ADDRESS_HEADER, resolveClientAddress } from '@edgetune/auth/request';
import { createLogger, loadConfig } from '@edgetune/config';
import { securityHeaders } from './next.config';

const config = loadConfig();
const log = createLogger('web');
const dir = path.dirname(new URL(import.meta.url).pathname);
const app = next({ dev: false, dir, hostname: config.HOST, port: config.PORT });
const handle = app.getRequestHandler();

await app.prepare();

/** Methods some route answers; anything else (TRACE, CONNECT, WebDAV verbs) is refused here. */
const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const allow = [...methods].join(', ');

const server = createServer((req, res) => {
  if (!methods.has(req.method ?? '')) {
    const body = JSON.stringify({ error: { code: 'method_not_allowed', message: `Method ${req.method} is not allowed.`, param: null, details: [] } });
    res.writeHead(405, { allow, 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    res.end(body);
    return;
  }
  const address = resolveClientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.TRUST_PROXY_HOPS);
  if (address) req.headers[CLIENT_ADDRESS_HEADER] = address;
  else delete req.headers[CLIENT_ADDRESS_HEADER];
  // A handler may answer before reading the whole body (413 as a body streams in): the unread rest
  // would be parsed as the next request on a kept-alive connection, so such a connection closes.
  const writeHead = res.writeHead;
  res.writeHead = function (this: typeof res, ...args: Parameters<typeof res.writeHead>) {
    if (!req.complete) res.shouldKeepAlive = false;
    return writeHead.apply(this, args);
  } as typeof res.writeHead;
  if (isDeviceRequest(req.method ?? '', (req.url ?? '/').split('?')[0])) {
    void answerDevice(req, res);
    return;
  }
  void handle(req, res).catch((err: unknown) => {
    log.error({ err: (err as Error).stack }, 'request failed');
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('Internal error');
  });
});
/** An edge device's request, straight to the REST adapter (no session, no page: Next.js adds nothing). */
function answerDevice(req: IncomingMessage, res: ServerResponse): Promise<void> {
  return answerWithFetch(req, res, (request) => handleRest(request, { sessionUserId: null }), {
    base: `http://${config.HOST}:${config.PORT}`,
    headers: securityHeaders,
    onError: (err) => log.error({ err: (err as Error).stack }, 'device request failed'),
  });
}

server.listen(config.PORT, config.HOST, () => log.info({ host: config.HOST, port: config.PORT }, 'web app listening'));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    // Open keep-alive connections would hold close() forever.
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
