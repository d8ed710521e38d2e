/**
 * Starts the agent of an organization pool on this machine (HTTPS only; see remote-agent.ts):
 *
 *   npm run device-agent -- --url https://edgetune.example.com --token etp_… --data-dir ~/edgetune-agent
 *
 * The token may also come from EDGETUNE_POOL_TOKEN (so it stays out of `ps`).
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { log } from './log';
import { RemoteAgent } from './remote-agent';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run device-agent -- --url URL --token etp_… [--data-dir DIR] [--name NAME]\n       (or EDGETUNE_POOL_TOKEN=etp_… instead of --token)\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, token: { type: 'string' }, 'data-dir': { type: 'string' }, name: { type: 'string' } },
    strict: true,
  });
  const url = values.url ?? process.env.EDGETUNE_URL;
  const token = values.token ?? process.env.EDGETUNE_POOL_TOKEN;
  if (!url) usage('--url is required: the platform address, e.g. https://edgetune.example.com');
  if (!/^https?:\/\//.test(url)) usage(`--url must start with https:// (or http:// on a trusted network), got ${url}`);
  if (!token) usage("--token is required: the pool's enrollment token (shown once when the pool was created)");
  const dataDir = path.resolve(values['data-dir'] ?? path.join(os.homedir(), '.edgetune-agent'));
  await mkdir(dataDir, { recursive: true });
  const agent = new RemoteAgent({ url, token, dataDir, name: values.name ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-') });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      log.info({ signal: sig }, 'stopping');
      agent.stop();
    });
  }
  await agent.run();
  log.info({}, 'agent stopped');
}

main().catch((e) => {
  log.fatal({ err: (e as Error).message }, 'device agent stopped');
  process.exit(1);
});
