import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '@edgetune/contracts';
import { seededRandom } from '@edgetune/contracts/testing';
import { isEmailAddress, MAX_EMAIL_LENGTH, normalizeEmail } from './accounts';

// The pattern e-mail addresses were checked with before; it backtracks quadratically on
// "x@" + ".a" × N + "@" (9 s at N = 64 000). Kept here only as the reference for short inputs.
const reference = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

test('e-mail check: the reported one-request freeze input is refused at once, whatever its size', { timeout: 5000 }, () => {
  for (const n of [16_000, 64_000, 500_000]) {
    const attack = 'x@' + '.a'.repeat(n) + '@';
    assert.throws(() => normalizeEmail(attack), (e: unknown) => e instanceof DomainError && e.code === 'invalid_request' && e.param === 'email');
    assert.equal(isEmailAddress(attack.slice(0, MAX_EMAIL_LENGTH - 1) + '@'), false);
  }
});

test('e-mail check agrees with the old pattern on every short input', () => {
  const next = seededRandom(11);
  const alphabet = ['a', 'b', '.', '@', ' ', '\t', '\u00a0', '\u2028', '\ufeff', 'é', '-', '+', '1'];
  for (let i = 0; i < 50_000; i++) {
    const len = 1 + next(12);
    let s = '';
    for (let j = 0; j < len; j++) s += alphabet[next(alphabet.length)];
    assert.equal(isEmailAddress(s), reference.test(s), JSON.stringify(s));
  }
  assert.equal(normalizeEmail('  Alice@Example.COM '), 'alice@example.com');
  assert.throws(() => normalizeEmail('a'.repeat(320) + '@x.io'));
  assert.throws(() => normalizeEmail(42));
});
