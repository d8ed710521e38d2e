import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeCallbackPath } from './callback';

test('safeCallbackPath keeps same-site paths with their query', () => {
  assert.equal(safeCallbackPath('/invite/abc'), '/invite/abc');
  assert.equal(safeCallbackPath('/jobs/new?x=1'), '/jobs/new?x=1');
  assert.equal(safeCallbackPath('/a/../settings'), '/settings');
});

test('safeCallbackPath refuses other sites, odd schemes and the auth pages', () => {
  for (const bad of ['https://evil.example/x', '//evil.example/x', '/\\evil.example', '/\t/evil.example', 'javascript:alert(1)', 'jobs', '', '/signin?callbackUrl=/x', '/signup', undefined, null, 42]) {
    assert.equal(safeCallbackPath(bad), '/jobs', String(bad));
  }
  assert.equal(safeCallbackPath('//evil.example', '/home'), '/home');
});
