import { customType } from 'drizzle-orm/pg-core';
import type { z } from 'zod';

/**
 * A jsonb column typed by a zod schema and parsed with it whenever a row is read, so a stored
 * shape is checked once, where it leaves the database, and code reading it needs no casts. A
 * row that does not match fails with the column named (null stays null: drizzle maps only values).
 */
export function parsedJsonb<S extends z.ZodType>(name: string, schema: S) {
  return customType<{ data: z.output<S>; driverData: unknown }>({
    dataType: () => 'jsonb',
    toDriver: (value) => JSON.stringify(value),
    fromDriver: (value) => {
      const parsed = schema.safeParse(typeof value === 'string' ? JSON.parse(value) : value);
      if (!parsed.success) throw new Error(`Stored ${name} does not match its schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
      return parsed.data;
    },
  })(name);
}
