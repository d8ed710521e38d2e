/**
 * The storage broker's own routes (rest/pools grantedStorageRoutes) over HTTP, on a store of the
 * test's choosing, grants checked by signature and expiry with a secret of its own (not by a job
 * row: that check has its own test). The TypeScript tests start it in-process; the trainer's
 * Python tests start it as a process and read `{"url", "grant"}` from its first line of output:
 *
 *   tsx packages/api/src/testing/broker-server.ts file:///tmp/objects|s3 <read,...> <write,...>
 *   → {"url": "http://127.0.0.1:…", "grant": "etg_…", "store_url": "file:///tmp/objects" | "s3://bucket/prefix"}
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import type { DomainError } from '@edgetune/contracts';
import { FsStorage, type Storage } from '@edgetune/storage';
import { s3FromTestEnv } from '@edgetune/storage/testing';
import { bearerToken } from '../context';
import { answerWithFetch } from '../http/node-adapter';
import { dispatch, type Surface } from '../http/routes';
import { json } from '../http/util';
import { mintStorageGrant, readStorageGrant, type StorageGrant } from '../pools/storage-grants';
import { grantedStorageRoutes } from '../rest/pools';

export interface BrokerServer {
  url: string;
  /** A grant this server accepts. */
  grant(scope: { read: string[]; write: string[]; ttlSeconds?: number }): string;
  close(): Promise<void>;
}

export async function startBrokerServer(store: Storage, secret = randomBytes(32).toString('hex')): Promise<BrokerServer> {
  const surface: Surface<StorageGrant> = {
    name: 'broker-test',
    mount: '/api/v1',
    routes: grantedStorageRoutes(() => store),
    caller: async (r) => readStorageGrant(bearerToken(r.headers.get('authorization')), secret),
    error: (e: DomainError) => json({ error: { code: e.code, message: e.message } }, e.code === 'unauthenticated' ? 401 : e.code === 'not_found' ? 404 : 400),
    methodNotAllowed: (m) => json({ error: { message: m } }, 405),
  };
  const server = http.createServer((req, res) => void answerWithFetch(req, res, (request) => dispatch(request, surface), { base: 'http://127.0.0.1' }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    grant: (scope) => mintStorageGrant({ jobId: 'job_test', orgId: 'org_test', ...scope }, secret),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [where = '', read = '', write = ''] = process.argv.slice(2);
  const s3 = where === 's3' ? s3FromTestEnv('broker-test') : null;
  const store = s3 ?? new FsStorage(new URL(where).pathname);
  const server = await startBrokerServer(store);
  const list = (s: string) => s.split(',').filter(Boolean);
  // store_url: where the test can put and check objects itself, with the store's own keys.
  const storeUrl = s3 ? `s3://${s3.location.bucket}/${s3.location.prefix}` : where;
  process.stdout.write(`${JSON.stringify({ url: server.url, grant: server.grant({ read: list(read), write: list(write) }), store_url: storeUrl })}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
