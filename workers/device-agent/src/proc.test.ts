import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runChild } from './proc';

test('tools the agent runs (llama.cpp, the bench child) never inherit platform secrets', async () => {
  const r = await runChild('env', [], { env: { ...process.env, DATABASE_URL: 'postgres://u:p@h/db', AUTH_SECRET: 's'.repeat(32), SIGNING_KEY_FILE: '/k.pem', KEEP_ME: '1' } });
  assert.match(r.stdout, /^KEEP_ME=1$/m);
  assert.doesNotMatch(r.stdout, /DATABASE_URL|AUTH_SECRET|SIGNING_KEY_FILE/);
});
