import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reachableUrl } from './stack';

test('the stack reaches its web app where HOST puts it (a wildcard through the loopback)', () => {
  assert.equal(reachableUrl('127.0.0.1', 3000), 'http://127.0.0.1:3000');
  assert.equal(reachableUrl('0.0.0.0', 3000), 'http://127.0.0.1:3000');
  assert.equal(reachableUrl('::', 8080), 'http://[::1]:8080');
  assert.equal(reachableUrl('fd00::5', 8080), 'http://[fd00::5]:8080');
  assert.equal(reachableUrl('10.1.2.3', 80), 'http://10.1.2.3:80');
});
