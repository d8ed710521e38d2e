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

export async function closeDb(): Promise<void> {
  await pool?.end();
  pool = null;
  database = null;
}
