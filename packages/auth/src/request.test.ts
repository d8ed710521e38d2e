import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientIp, cookieValue, headerValue, requestMeta } from './request';

test('client address: the entry the nearest untrusted hop appended, else X-Real-IP', () => {
  const h = new Headers({ 'x-forwarded-for': 'forged, 203.0.113.9, 10.0.0.2', 'x-real-ip': '10.9.9.9' });
  assert.equal(clientIp(h, 0), '10.0.0.2');
  assert.equal(clientIp(h, 1), '203.0.113.9');
  assert.equal(clientIp(h, 9), 'forged');
  assert.equal(clientIp(new Headers({ 'x-real-ip': ' 10.9.9.9 ' }), 0), '10.9.9.9');
  assert.equal(clientIp(new Headers(), 0), null);
  // next-auth v4 hands authorize() a plain object
  assert.equal(clientIp({ 'x-forwarded-for': '198.51.100.1' }, 0), '198.51.100.1');
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
