import { drizzle, type NodePgDatabase, type NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { createLogger, loadConfig } from '@edgetune/config';
import * as schema from './schema/index';

/**
 * The client or an open transaction: both run the same queries, so a function that must join its
 * caller's transaction takes this and works outside one too.
 */
export type Db = PgDatabase<NodePgQueryResultHKT, typeof schema>;

let pool: pg.Pool | null = null;
/** Ended by closeDb too, so a process that closes its database has no connection left open. */
const listenClients = new Set<pg.Client>();
let database: NodePgDatabase<typeof schema> | null = null;

/** The process-wide pool and drizzle client (created on first use). */
export function db(): NodePgDatabase<typeof schema> {
  if (!database) {
    pool = new pg.Pool({ connectionString: loadConfig().DATABASE_URL, max: 10, connectionTimeoutMillis: 5000 });
    // An idle connection can end under the pool (the server restarted); the pool drops it and
    // connects afresh on the next query. Unhandled, this event would end the process.
    const log = createLogger('db');
    pool.on('error', (err) => log.warn({ err: err.message }, 'an idle database connection was lost'));
    database = drizzle(pool, { schema });
  }
  return database;
}

/**
 * A connection of its own, outside the pool, for LISTEN: a notification reaches only the session
 * that listens, so it must not be lent to other queries. The caller connects and ends it.
 */
export function newListenClient(): pg.Client {
  // Named by process, so an operator (or a test) can tell whose it is in pg_stat_activity.
  const c = new pg.Client({
    connectionString: loadConfig().DATABASE_URL,
    connectionTimeoutMillis: 5000,
    application_name: `edgetune-listen-${process.pid}`,
    // A listener only reads: without keepalive probes a dead server would go unnoticed for hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  listenClients.add(c);
  c.once('end', () => listenClients.delete(c));
  return c;
}

export async function closeDb(): Promise<void> {
  await Promise.all([...listenClients].map((c) => c.end().catch(() => undefined)));
  await pool?.end();
  pool = null;
  database = null;
}
