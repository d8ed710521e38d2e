/** Applies the database migrations (run by the stack before anything else touches the database). */
import { closeDb, migrateDatabase } from '@edgetune/db';

await migrateDatabase();
await closeDb();
