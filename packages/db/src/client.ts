import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { loadConfig } from '@edgetune/config';
import * as schema from './schema/index';

export type Db = NodePgDatabase<typeof schema>;

let pool: pg.Pool | null = null;
let database: Db | null = null;

/** The process-wide pool and drizzle client (created on first use). */
export function db(): Db {
  if (!database) {
    pool = new pg.Pool({ connectionString: loadConfig().DATABASE_URL, max: 10, connectionTimeoutMillis: 5000 });
    database = drizzle(pool, { schema });
  }
  return database;
}

export async function closeDb(): Promise<void> {
  await pool?.end();
  pool = null;
  database = null;
}
