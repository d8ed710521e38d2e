/** The embedded PostgreSQL the stack started has a random password, not the library's default. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';

test("the embedded PostgreSQL refuses the default password 'postgres'", async () => {
  const url = new URL(process.env.DATABASE_URL ?? '');
  assert.notEqual(decodeURIComponent(url.password), 'postgres');
  assert.ok(url.password.length >= 32, 'a long random password');
  const guess = new pg.Client({ host: url.hostname, port: Number(url.port), user: 'postgres', password: 'postgres', database: 'postgres' });
  await assert.rejects(guess.connect(), /password authentication failed/);
  const real = new pg.Client({ connectionString: url.href });
  await real.connect();
  await real.end();
});
