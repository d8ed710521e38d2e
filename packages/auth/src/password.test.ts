import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './password';

test('password policy: length and common passwords', () => {
  assert.throws(() => checkPasswordPolicy('short'), /at least 10 characters/);
  assert.throws(() => checkPasswordPolicy('Password123'), /too common/);
  assert.throws(() => checkPasswordPolicy('1234567890'), (e: Error & { code?: string; param?: string }) => e.code === 'invalid_request' && e.param === 'password');
  assert.doesNotThrow(() => checkPasswordPolicy('correct horse battery'));
});

test('argon2id hash verifies the right password only', async () => {
  const hash = await hashPassword('correct horse battery');
  assert.match(hash, /^\$argon2id\$/);
  assert.equal(await verifyPassword(hash, 'correct horse battery'), true);
  assert.equal(await verifyPassword(hash, 'wrong horse battery'), false);
  assert.equal(await verifyPassword('garbage', 'x'), false);
});
