import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_ADDRESS_HEADER, clientIp, cookieValue, headerValue, requestMeta, resolveClientAddress } from './request';

test('client address: the socket peer unless proxies are trusted, then the right-most untrusted entry', () => {
  const xff = 'forged, 203.0.113.9, 10.0.0.2';
  assert.equal(resolveClientAddress('198.51.100.7', xff, 0), '198.51.100.7', 'no trusted proxy: X-Forwarded-For is ignored');
  assert.equal(resolveClientAddress('::ffff:127.0.0.1', 'forged', 0), '127.0.0.1');
  assert.equal(resolveClientAddress('10.0.0.1', xff, 1), '10.0.0.2', 'one proxy: the entry it appended');
  assert.equal(resolveClientAddress('10.0.0.1', xff, 2), '203.0.113.9');
  assert.equal(resolveClientAddress('10.0.0.1', '198.51.100.1', 9), '198.51.100.1', 'a short chain takes its left-most entry');
  assert.equal(resolveClientAddress('10.0.0.1', 'not-an-address', 1), '10.0.0.1', 'garbage falls back to the socket');
  assert.equal(resolveClientAddress('10.0.0.1', ['203.0.113.1', '203.0.113.2'], 1), '203.0.113.2', 'repeated headers join in order');
  assert.equal(resolveClientAddress('10.0.0.1', null, 1), '10.0.0.1');
  assert.equal(resolveClientAddress(null, null, 0), null);
  // A huge header costs linear time and only its tail is read.
  assert.equal(resolveClientAddress('10.0.0.1', '1.1.1.1,'.repeat(200_000) + '203.0.113.5', 1), '203.0.113.5');
  // Handlers read only the header the web server sets.
  assert.equal(clientIp(new Headers({ 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '10.9.9.9' })), null);
  assert.equal(clientIp(new Headers({ [CLIENT_ADDRESS_HEADER]: ' 203.0.113.9 ' })), '203.0.113.9');
  // next-auth v4 hands authorize() a plain object
  assert.equal(clientIp({ [CLIENT_ADDRESS_HEADER]: '198.51.100.1' }), '198.51.100.1');
  assert.equal(headerValue({ 'User-Agent': 'ua' }, 'user-agent'), 'ua');
  assert.deepEqual(requestMeta(null), { ip: null, userAgent: null });
});

test('cookieValue reads one cookie, decoded', () => {
  const h = new Headers({ cookie: 'a=1; et_org=org_%41bc; next-auth.session-token=xyz' });
  assert.equal(cookieValue(h, 'et_org'), 'org_Abc');
  assert.equal(cookieValue(h, 'missing'), null);
  assert.equal(cookieValue(new Headers({ cookie: 'et_org=%E0%A4%A' }), 'et_org'), null);
  assert.equal(cookieValue(undefined, 'et_org'), null);
});
