/**
 * Brings the whole platform up on one machine: PostgreSQL, the Temporal dev server, the
 * orchestrator, trainer and device-agent workers and the web app. `npm start` runs it in the
 * foreground; the test harness runs a second copy on other ports with its own data folder.
 * Components named by environment (DATABASE_URL, TEMPORAL_ADDRESS) are used instead of started.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { withoutPlatformSecrets, type Logger } from '@edgetune/config';
import { startEmbeddedPostgres, type EmbeddedPg } from './postgres';
import { ManagedProcess, waitFor } from './processes';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export interface StackOptions {
  dataDir: string;
  port: number;
  postgresPort: number;
  temporalPort: number;
  temporalUiPort: number;
  /** Echo component output to stdout (npm start) or keep it in .data/logs only (tests). */
  echo: boolean;
  log: Logger;
  /** Start the web app (tests of the workers alone can skip it). */
  web: boolean;
  /** Added to every component's environment (e.g. the test OpenID provider's OIDC_* settings). */
  extraEnv?: Record<string, string>;
  /** More platform device pools besides `local`, each served by its own device agent (`device-agent-<pool>`). */
  devicePools?: string[];
  /**
   * Pool workers hold no object store keys either: they reach each job's objects with its storage
   * grant through the web app (PLATFORM_URL), as on machines of their own. Needs `web`.
   */
  brokeredPools?: boolean;
}

export interface Stack {
  env: NodeJS.ProcessEnv;
  baseUrl: string;
  processes: Map<string, ManagedProcess>;
  /** Components that exited on their own (and were started again), by name. */
  unexpectedExits: Record<string, number>;
  stopComponent(name: string): Promise<void>;
  startComponent(name: string): void;
  /** Components that `crash` and `restart` know: the processes, and 'postgres' when embedded. */
  components(): string[];
  /** kill -9 of a component (the kill tests). */
  crash(name: string): Promise<void>;
  /** Starts a component again after `crash` (PostgreSQL: resolves once it accepts connections). */
  restart(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** The object store's location and keys, which a brokered pool worker goes without. */
export const STORE_SETTINGS = /^(STORAGE_URL|S3_.*|AWS_.*)$/;

/** Random secrets and the release-signing key, created once per data folder. */
export function ensureSecrets(dataDir: string): { authSecret: string; signingKeyFile: string; fleetKeySecret: string } {
  const dir = path.join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const authFile = path.join(dir, 'auth-secret');
  if (!existsSync(authFile)) writeFileSync(authFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const signingKeyFile = path.join(dir, 'signing-key.pem');
  if (!existsSync(signingKeyFile)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(signingKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const fleetKeyFile = path.join(dir, 'fleet-key-secret');
  if (!existsSync(fleetKeyFile)) writeFileSync(fleetKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  return { authSecret: readFileSync(authFile, 'utf8').trim(), signingKeyFile, fleetKeySecret: readFileSync(fleetKeyFile, 'utf8').trim() };
}


/** Where this machine reaches a web app listening on host:port: a wildcard address is reached on the loopback. */
export function reachableUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${port}`;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const { log } = opts;
  mkdirSync(opts.dataDir, { recursive: true });
  const logDir = path.join(opts.dataDir, 'logs');
  const { authSecret, signingKeyFile, fleetKeySecret } = ensureSecrets(opts.dataDir);
  const host = process.env.HOST || '127.0.0.1';
  const baseUrl = reachableUrl(host, opts.port);
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');

  let pgServer: EmbeddedPg | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    pgServer = await startEmbeddedPostgres({ dataDir: opts.dataDir, port: opts.postgresPort, database: 'edgetune', log });
    databaseUrl = pgServer.url;
    log.info({ component: 'postgres', port: opts.postgresPort }, 'PostgreSQL is up');
  }

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EDGETUNE_ROOT: ROOT,
    DATA_DIR: opts.dataDir,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${opts.temporalPort}`,
    STORAGE_URL: process.env.STORAGE_URL ?? `file://${path.join(opts.dataDir, 'objects')}`,
    AUTH_SECRET: authSecret,
    NEXTAUTH_SECRET: authSecret,
    // next-auth builds OAuth callback URLs from this: the public address when there is one.
    NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? process.env.PUBLIC_URL ?? baseUrl,
    SIGNING_KEY_FILE: signingKeyFile,
    FLEET_KEY_SECRET: process.env.FLEET_KEY_SECRET ?? fleetKeySecret,
    HOST: host,
    PORT: String(opts.port),
    LLAMA_CPP_DIR: process.env.LLAMA_CPP_DIR ?? path.join(ROOT, '.tools', 'llama.cpp'),
    HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE ?? '1',
    PYTHONUNBUFFERED: '1',
    // One training thread: measured 5-8x faster per step than two on a 2-core machine that also
    // runs the web app and the device agent (workers/trainer tests).
    TRAIN_THREADS: process.env.TRAIN_THREADS ?? '1',
    ...opts.extraEnv,
  };

  // Migrations run in a child so this process never caches another stack's config.
  await runOnce(tsx, [path.join(ROOT, 'infra', 'migrate.ts')], env, log, 'migrate');

  const processes = new Map<string, ManagedProcess>();
  let stopping = false;
  // A component that exits on its own is started again, as a service manager would, with a
  // backoff that grows while it keeps failing soon after its start.
  const crashes = new Map<string, { count: number; lastStart: number }>();
  const unexpectedExits: Record<string, number> = {};
  const onExit = (name: string, code: number | null) => {
    if (stopping) return;
    unexpectedExits[name] = (unexpectedExits[name] ?? 0) + 1;
    const c = crashes.get(name) ?? { count: 0, lastStart: 0 };
    c.count = Date.now() - c.lastStart > 60_000 ? 1 : c.count + 1;
    crashes.set(name, c);
    const delayMs = Math.min(30_000, 1000 * 2 ** (c.count - 1));
    log.error({ process: name, code, logFile: processes.get(name)?.logFile, restartInMs: delayMs }, `${name} exited unexpectedly`);
    setTimeout(() => {
      const p = processes.get(name);
      if (stopping || !p || p.running) return;
      c.lastStart = Date.now();
      p.start();
    }, delayMs).unref();
  };
  const add = (name: string, command: string, args: string[], cwd: string, componentEnv: NodeJS.ProcessEnv = env) => {
    processes.set(name, new ManagedProcess({ name, command, args, cwd, env: componentEnv, logDir, echo: opts.echo }, log, onExit));
  };
  // Pool workers (trainer, device agent) and the tools they run get no platform secrets: they
  // reach the platform only through Temporal and storage.
  const poolEnv = withoutPlatformSecrets(env);
  if (opts.brokeredPools) {
    if (!opts.web) throw new Error('brokeredPools needs the web app: it is what the pools reach objects through');
    for (const name of Object.keys(poolEnv)) if (STORE_SETTINGS.test(name)) delete poolEnv[name];
    poolEnv.PLATFORM_URL = baseUrl;
    // Such a trainer cannot write outside a job's grant: the platform stages the builtin models.
    await runOnce(path.join(ROOT, 'workers', 'trainer', '.venv', 'bin', 'python'), ['-m', 'edgetune_trainer.stage'], { ...env, PYTHONPATH: path.join(ROOT, 'workers', 'trainer') }, log, 'stage base models');
  }

  if (!process.env.TEMPORAL_ADDRESS) {
    const temporalDir = path.join(opts.dataDir, 'temporal');
    mkdirSync(temporalDir, { recursive: true });
    add('temporal', path.join(ROOT, '.tools', 'bin', 'temporal'), [
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.temporalPort), '--ui-port', String(opts.temporalUiPort),
      '--db-filename', path.join(temporalDir, 'temporal.db'), '--log-format', 'json', '--log-level', 'warn',
    ], ROOT);
  }
  add('orchestrator', tsx, [path.join(ROOT, 'workers', 'orchestrator', 'src', 'worker.ts')], ROOT);
  add('trainer', path.join(ROOT, 'workers', 'trainer', '.venv', 'bin', 'python'), ['-m', 'edgetune_trainer.worker'], path.join(ROOT, 'workers', 'trainer'), poolEnv);
  add('device-agent', tsx, [path.join(ROOT, 'workers', 'device-agent', 'src', 'worker.ts')], ROOT, poolEnv);
  const ownFolders: string[] = [];
  for (const pool of opts.devicePools ?? []) {
    if (opts.brokeredPools) {
      // As on a machine of its own: its own folder, and nothing of the platform's but Temporal's
      // address and the platform's URL (no DATA_DIR, no secrets, no store settings).
      const folder = mkdtempSync(path.join(os.tmpdir(), `edgetune-pool-${pool}-`));
      ownFolders.push(folder);
      const own: NodeJS.ProcessEnv = {
        NODE_ENV: 'production',
        PATH: process.env.PATH ?? '',
        HOME: folder,
        TMPDIR: folder,
        DEVICE_POOL: pool,
        TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
        ...(env.TEMPORAL_NAMESPACE ? { TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE } : {}),
        PLATFORM_URL: baseUrl,
        LLAMA_CPP_DIR: env.LLAMA_CPP_DIR,
        ...(env.DEVICE_PROFILES ? { DEVICE_PROFILES: env.DEVICE_PROFILES } : {}),
      };
      add(`device-agent-${pool}`, tsx, [path.join(ROOT, 'workers', 'device-agent', 'src', 'worker.ts')], folder, own);
    } else {
      add(`device-agent-${pool}`, tsx, [path.join(ROOT, 'workers', 'device-agent', 'src', 'worker.ts')], ROOT, { ...poolEnv, DEVICE_POOL: pool });
    }
  }
  if (opts.web) add('web', tsx, [path.join(ROOT, 'apps', 'web', 'server.ts')], path.join(ROOT, 'apps', 'web'), { ...env, NODE_ENV: 'production' });

  // Whatever way this process ends, no component outlives it.
  process.once('exit', () => {
    for (const p of processes.values()) p.kill();
  });

  const stack: Stack = {
    env,
    baseUrl,
    processes,
    unexpectedExits,
    async stopComponent(name) {
      await processes.get(name)?.stop();
    },
    startComponent(name) {
      processes.get(name)?.start();
    },
    components() {
      return [...(pgServer ? ['postgres'] : []), ...processes.keys()];
    },
    async crash(name) {
      if (name === 'postgres') await pgServer?.crash();
      else await processes.get(name)?.crash();
    },
    async restart(name) {
      if (name !== 'postgres') return processes.get(name)?.start();
      // The killed server's shared memory can linger a moment: retry for a while.
      pgServer = await waitFor('PostgreSQL after a crash', 60_000, () =>
        startEmbeddedPostgres({ dataDir: opts.dataDir, port: opts.postgresPort, database: 'edgetune', log }),
      );
    },
    async stop() {
      stopping = true;
      const agents = [...processes.keys()].filter((n) => n.startsWith('device-agent'));
      for (const name of ['web', ...agents, 'trainer', 'orchestrator', 'temporal']) await processes.get(name)?.stop();
      await pgServer?.stop();
      for (const folder of ownFolders) rmSync(folder, { recursive: true, force: true });
    },
  };

  try {
    if (processes.has('temporal')) {
      processes.get('temporal')!.start();
      await waitFor('Temporal', 120_000, async () => {
        const c = await Connection.connect({ address: env.TEMPORAL_ADDRESS!, connectTimeout: '2s' });
        await c.workflowService.getSystemInfo({});
        await c.close();
      });
      log.info({ component: 'temporal', address: env.TEMPORAL_ADDRESS, ui: `http://127.0.0.1:${opts.temporalUiPort}` }, 'Temporal is up');
    }
    for (const name of ['orchestrator', 'trainer', ...[...processes.keys()].filter((n) => n.startsWith('device-agent')), 'web']) processes.get(name)?.start();
    if (opts.web) {
      await waitFor('the platform (/api/health)', 300_000, async () => {
        for (const [name, p] of processes) if (!p.running) throw new Error(`${name} is not running; see ${p.logFile}`);
        const r = await fetch(`${baseUrl}/api/health`);
        if (r.status !== 200) throw new Error(`/api/health answered ${r.status}: ${await r.text()}`);
      });
    }
  } catch (e) {
    await stack.stop();
    throw e;
  }
  return stack;
}

async function runOnce(command: string, args: string[], env: NodeJS.ProcessEnv, log: Logger, name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${name} failed with exit code ${code}`))));
  });
  log.info({ step: name }, `${name} done`);
}

/**
 * A user, a fresh organization and an API key with `scopes`, made with the operator CLI against
 * a stack's database (the benchmarks and the fuzz suite); returns the key.
 */
export function adminApiKey(env: NodeJS.ProcessEnv, tag: string, scopes: string): string {
  const stamp = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const email = `${tag}-${stamp}@example.test`;
  const org = `${tag} ${stamp}`;
  const admin = (args: string[]) => {
    const r = spawnSync('bash', [path.join(ROOT, 'infra/run-ts.sh'), path.join(ROOT, 'packages/api/src/cli/admin.ts'), ...args], {
      env: { ...env, EDGETUNE_ADMIN_PASSWORD: `${tag} uses a long password` },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`admin ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  };
  admin(['create-user', '--email', email, '--org', org]);
  return admin(['create-api-key', '--email', email, '--org', org, '--scopes', scopes]).trim().split('\n').pop()!.trim();
}
