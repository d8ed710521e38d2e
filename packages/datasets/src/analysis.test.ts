import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuplicateTable, ExampleHasher, LabelCounter, scanPii, TokenStats } from './analysis';
import { seededRandom } from '@edgetune/contracts/testing';

const hashOf = (...parts: string[]): [number, number, number] => {
  const h = new ExampleHasher();
  h.reset();
  for (const p of parts) {
    h.mark(1);
    h.feed(p);
  }
  h.finish();
  return [h.n1, h.n2, h.e];
};

test('normalized hashes ignore case, whitespace and punctuation; exact hashes do not', () => {
  const a = hashOf('Hello,   World!', 'Fine.');
  const b = hashOf('hello world', 'fine');
  const c = hashOf('hello world', 'fine!');
  assert.deepEqual(a.slice(0, 2), b.slice(0, 2));
  assert.notEqual(a[2], b[2]);
  assert.deepEqual(b.slice(0, 2), c.slice(0, 2));
  // Field boundaries count: moving text from one message to the next is a different example.
  assert.notDeepEqual(hashOf('hello world', 'fine').slice(0, 2), hashOf('hello', 'world fine').slice(0, 2));
  // Words stay words: removing a separator changes the text.
  assert.notDeepEqual(hashOf('ab c').slice(0, 2), hashOf('abc').slice(0, 2));
});

test('normalized hashes are equal exactly when the normalized texts are (fuzz against a reference)', () => {
  const isSep = (c: number): boolean =>
    c < 128 ? !((c >= 48 && c < 58) || (c >= 65 && c < 91) || (c >= 97 && c < 123)) : (c >= 0x2000 && c <= 0x206f) || c === 0xa0 || (c >= 0x3000 && c <= 0x303f) || c === 0xfeff || (c >= 0xa1 && c <= 0xbf);
  const normalize = (parts: string[]): string =>
    parts
      .map((p) => {
        let out = '';
        for (const ch of p) {
          const c = ch.charCodeAt(0);
          out += ch.length === 1 && isSep(c) ? ' ' : c < 128 ? ch.toLowerCase() : ch;
        }
        return out.replace(/ +/g, ' ').trim();
      })
      .join('\u0001');
  const pool = ['a', 'B', 'b', 'z', '0', '9', ' ', '  ', '\t', '\n', '.', ',', '!', '-', '@', '(', ')', '+', 'é', 'É', '東', '\u00a0', '\u2014', '\u3000', '\ufeff', '🙂'];
  const rnd = seededRandom(99);
  const gen = (): string[] => Array.from({ length: 1 + rnd(2) }, () => Array.from({ length: rnd(6) }, () => pool[rnd(pool.length)]).join(''));
  const byNorm = new Map<string, string>();
  const byHash = new Map<string, string>();
  for (let i = 0; i < 20000; i++) {
    const parts = gen();
    const n = normalize(parts);
    const h = hashOf(...parts).slice(0, 2).join(':');
    if (byNorm.has(n)) assert.equal(byNorm.get(n), h, `same normalized text ${JSON.stringify(parts)}, different hash`);
    else byNorm.set(n, h);
    if (byHash.has(h)) assert.equal(byHash.get(h), n, `same hash for different normalized texts ${JSON.stringify(parts)}`);
    else byHash.set(h, n);
  }
  assert.ok(byNorm.size > 1000);
});

test('the PII pre-check lets every text with personal data through', () => {
  const h = new ExampleHasher();
  const pool = ['a', ' ', '1', '2', '4', '5', '0', '-', '.', '(', ')', '+', '@', 'x.org', 'b@c.de', '4242', '555'];
  const rnd = seededRandom(7);
  let found = 0;
  for (let i = 0; i < 20000; i++) {
    const s = Array.from({ length: rnd(30) }, () => pool[rnd(pool.length)]).join('');
    h.reset();
    h.feed(s);
    if (scanPii(s) !== 0) {
      found++;
      assert.ok(h.piiCandidate, JSON.stringify(s));
    }
  }
  assert.ok(found > 1000);
});

test('the duplicate table grows, keeps answers across growth, and stops adding when full', () => {
  const t = new DuplicateTable(4);
  for (let i = 1; i <= 1000; i++) assert.equal(t.check(i * 2654435761, i, i), 0);
  for (let i = 1; i <= 1000; i++) assert.equal(t.check(i * 2654435761, i, i), 1, `exact ${i}`);
  assert.equal(t.check(5 * 2654435761, 5, 99), 2, 'same normalized text, other exact text');
  assert.equal(t.full, false);
  const small = new DuplicateTable(4, 64);
  for (let i = 1; i <= 100; i++) small.check(i * 7919, i, i);
  assert.equal(small.full, true);
  assert.equal(small.skipped, 100 - 48, 'three quarters of 64 slots are used, the rest only checked');
  assert.equal(small.check(7919, 1, 1), 1, 'what is in still answers');
  assert.equal(small.check(100 * 7919, 100, 100), 0, 'what did not fit is not reported as a duplicate');
});

test('token statistics: exact percentiles and power-of-two histogram', () => {
  const s = new TokenStats();
  for (let v = 1; v <= 100; v++) s.add(v);
  const sum = s.summary();
  assert.equal(sum.total, 5050);
  assert.equal(sum.p50, 50);
  assert.equal(sum.p95, 95);
  assert.equal(sum.max, 100);
  assert.deepEqual(sum.histogram, [
    { lo: 0, hi: 16, count: 15 },
    { lo: 16, hi: 32, count: 16 },
    { lo: 32, hi: 64, count: 32 },
    { lo: 64, hi: 128, count: 37 },
  ]);
});

test('likely personal data', () => {
  assert.equal(scanPii('write to ops@example.org today'), 1);
  assert.equal(scanPii('an @mention is not an email'), 0);
  assert.equal(scanPii('call +44 20 7946 0958'), 2);
  assert.equal(scanPii('call 415-555-0100'), 2);
  assert.equal(scanPii('order 4155550100 shipped'), 0, 'a bare 10-digit id is not a phone number');
  assert.equal(scanPii('card 4242-4242-4242-4242'), 4);
  assert.equal(scanPii('card 4242-4242-4242-4241'), 0, 'fails the Luhn check');
  assert.equal(scanPii('0000 0000 0000 0000'), 0, 'a repeated digit is not a card');
});

test('labels: only short final answers, normalized; too many distinct values is not a label set', () => {
  const l = new LabelCounter();
  for (let i = 0; i < 30; i++) l.add(i % 3 ? 'Positive.' : 'negative', i + 1);
  assert.deepEqual(l.distribution()?.map((d) => [d.label, d.count]), [
    ['positive', 20],
    ['negative', 10],
  ]);
  const free = new LabelCounter();
  for (let i = 0; i < 100; i++) free.add(`answer ${i}`, i + 1);
  assert.equal(free.distribution(), null);
  const long = new LabelCounter();
  for (let i = 0; i < 30; i++) long.add('a long free-text answer that is clearly not a class label at all', i + 1);
  assert.equal(long.distribution(), null);
});
