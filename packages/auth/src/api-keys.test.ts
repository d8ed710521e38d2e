import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiKeyMatches, generateApiKey, hashApiKey, normalizeScopes, parseApiKey } from './api-keys';

test('generated keys have the et_<12>_<32> format and a matching hash', () => {
  const { key, prefix, hash } = generateApiKey();
  assert.match(key, /^et_[A-Za-z0-9]{12}_[A-Za-z0-9]{32}$/);
  assert.equal(key.slice(3, 15), prefix);
  assert.equal(hash, hashApiKey(key));
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.ok(!hash.includes(key.slice(16)), 'the secret is not stored in clear');
});

test('keys are unique', () => {
  const seen = new Set(Array.from({ length: 200 }, () => generateApiKey().key));
  assert.equal(seen.size, 200);
});

test('parseApiKey accepts only well-formed keys', () => {
  const { key, prefix } = generateApiKey();
  assert.deepEqual(parseApiKey(key), { prefix });
  assert.equal(parseApiKey('et_short_x'), null);
  assert.equal(parseApiKey('sk-' + 'a'.repeat(40)), null);
  assert.equal(parseApiKey(key + 'x'), null);
  assert.equal(parseApiKey(undefined), null);
});

test('apiKeyMatches compares against the stored hash', () => {
  const a = generateApiKey();
  const b = generateApiKey();
  assert.equal(apiKeyMatches(a.key, a.hash), true);
  assert.equal(apiKeyMatches(b.key, a.hash), false);
  assert.equal(apiKeyMatches(a.key, 'nothex'), false);
});

test('scopes default and validate', () => {
  assert.deepEqual(normalizeScopes(undefined), ['read', 'train', 'publish']);
  assert.deepEqual(normalizeScopes(['read', 'read']), ['read']);
  assert.throws(() => normalizeScopes(['root']), (e: Error & { code?: string }) => e.code === 'invalid_request' && /root/.test(e.message));
});
