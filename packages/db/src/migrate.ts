import path from 'node:path';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { loadConfig } from '@edgetune/config';
import { db } from './client';

/** Applies the drizzle-kit migrations in <root>/drizzle (idempotent). */
export async function migrateDatabase(): Promise<void> {
  await migrate(db(), { migrationsFolder: path.join(loadConfig().ROOT_DIR, 'drizzle') });
}
