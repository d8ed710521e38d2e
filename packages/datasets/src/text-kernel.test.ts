import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assembleTextKernel } from '../../../infra/text-kernel-assembler';
import { ExampleHasher } from './analysis';
import { TextKernel } from './text-kernel';
import { TEXT_KERNEL_WASM } from './text-kernel-wasm';
import { seededRandom } from '@edgetune/contracts/testing';

const here = path.dirname(fileURLToPath(import.meta.url));

test('the committed kernel is what text-kernel.wat assembles to (run npm run build:text-kernel after editing it)', async () => {
  const bytes = await assembleTextKernel(readFileSync(path.join(here, 'text-kernel.wat'), 'utf8'));
  assert.equal(Buffer.from(TEXT_KERNEL_WASM, 'base64').equals(bytes), true);
});

/** Whitespace to either engine's \s: Unicode White_Space (Rust) or JavaScript's (adds U+FEFF). */
const isWhiteSpace = (c: number): boolean => /[\s\p{White_Space}]/u.test(String.fromCharCode(c));

test('chunks are cut before a space exactly where the unit before it is not whitespace, for every BMP code unit', () => {
  const k = new TextKernel();
  k.initTable(1 << 12, 1 << 16);
  for (let from = 0; from < 0x10000; from += 4096) {
    // "x" + unit + " " per code unit: a cut before the space means the kernel saw a non-space.
    let t = '';
    for (let c = from; c < from + 4096; c++) t += `x${String.fromCharCode(c)} `;
    k.countChunks(k.load(t), t.length, 64);
    const cuts = new Set(k.chunkEnds());
    for (let c = from; c < from + 4096; c++) {
      const space = (c - from) * 3 + 2;
      assert.equal(cuts.has(space), !isWhiteSpace(c), `U+${c.toString(16).padStart(4, '0')}`);
    }
  }
});

test('the normalized hash keeps letters and digits (ASCII ones lower-cased) and treats every other unit as the reference does', () => {
  const isSeparator = (c: number): boolean =>
    c < 128 ? !((c >= 48 && c < 58) || (c >= 65 && c < 91) || (c >= 97 && c < 123)) : (c >= 0x2000 && c <= 0x206f) || c === 0xa0 || (c >= 0x3000 && c <= 0x303f) || c === 0xfeff || (c >= 0xa1 && c <= 0xbf);
  const h = new ExampleHasher();
  const normalized = (s: string): string => {
    h.reset();
    h.mark(1);
    h.feed(s);
    h.finish();
    return `${h.n1}:${h.n2}`;
  };
  const separated = normalized('a b');
  for (let c = 0; c < 0x10000; c++) {
    const ch = String.fromCharCode(c);
    const folded = c < 128 ? ch.toLowerCase() : ch;
    const expected = isSeparator(c) ? separated : normalized(`a${folded}b`);
    assert.equal(normalized(`a${ch}b`), expected, `U+${c.toString(16).padStart(4, '0')}`);
    if (!isSeparator(c)) assert.notEqual(expected, separated, `U+${c.toString(16)} is text`);
  }
});

test('texts longer than the first buffer are taken whole: counts and fingerprints see every character', () => {
  const k = new TextKernel();
  k.initTable(1 << 12, 1 << 16);
  const long = 'word '.repeat(40000) + 'end';
  k.countChunks(k.load(long), long.length, 64);
  const ends = k.chunkEnds();
  assert.equal(ends.length, 40001);
  assert.equal(ends[ends.length - 1], long.length);
  const a = new ExampleHasher();
  const fp = (s: string): string => {
    a.reset();
    a.feed(s);
    a.finish();
    return `${a.n1}:${a.n2}:${a.e}`;
  };
  assert.notEqual(fp(long), fp(`${long.slice(0, -1)}x`), 'the last character counts');
  // Another string with the same text (a new copy in the kernel's memory) fingerprints the same.
  assert.equal(fp(long), fp(`${'word '.repeat(39999)}word end`));
});

test('loaded texts are reused, not recopied: interleaving texts, reloading them and wrapping around the text area scan the same as a fresh kernel', () => {
  const words = ['a', 'Bc', ' ', '  ', 'déjà', '\n', '42', ', ', 'x'.repeat(70), '🙂', '@', '+1 (555) 010-9999'];
  const rnd = seededRandom(11);
  const texts = Array.from({ length: 300 }, () => Array.from({ length: rnd(400) }, () => words[rnd(words.length)]).join(''));
  const scan = (k: TextKernel, t: string): string => {
    const at = k.load(t);
    k.fingerprintReset();
    const pii = k.fingerprintFeed(at, t.length);
    const fp = new Uint32Array(3);
    k.fingerprintFinish(fp);
    const known = k.countChunks(k.load(t), t.length, 64);
    const misses = Array.from({ length: k.misses }, (_, i) => `${k.missStart(i)}-${k.missEnd(i)}`);
    return JSON.stringify([pii, [...fp], known, misses, k.chunkEnds()]);
  };
  const fresh = (t: string): string => {
    const k = new TextKernel();
    k.initTable(1 << 12, 1 << 12);
    return scan(k, t);
  };
  const shared = new TextKernel();
  shared.initTable(1 << 12, 1 << 12);
  for (let i = 0; i < 2000; i++) {
    const t = texts[rnd(i < 1000 ? 8 : texts.length)];
    assert.equal(scan(shared, t), fresh(t), `load ${i}: ${JSON.stringify(t.slice(0, 40))}…`);
  }
  // The same string object loaded twice in a row is copied once.
  const t = `${texts[0]} once`;
  const at = shared.load(t);
  const used = (shared as unknown as { used: number }).used;
  assert.equal(shared.load(t), at);
  assert.equal((shared as unknown as { used: number }).used, used, 'the second load copies nothing');
});

test('the chunk table answers only what it was told: every length from 1 to 64 units, doubling, starting over when full, counts outside 1–255 not kept', () => {
  const k = new TextKernel();
  k.initTable(16, 64);
  const rnd = seededRandom(5);
  const letters = 'abcdeéfgh🙂';
  const chunk = (i: number): string => {
    const len = 1 + (i % 64);
    let s = ' ';
    while (s.length < len) s += letters[rnd(letters.length)];
    return s.slice(0, len);
  };
  const told = new Map<string, number>();
  /** Counts `text` (one chunk), telling the table `count` on a miss; returns the table's answer or -1. */
  const ask = (text: string, tell: number): number => {
    const known = k.countChunks(k.load(text), text.length, 64);
    if (k.misses === 0) return known;
    assert.equal(k.misses, 1);
    assert.deepEqual([k.missStart(0), k.missEnd(0)], [0, text.length]);
    k.remember(0, tell);
    return -1;
  };
  let forgotten = 0;
  for (let i = 0; i < 400; i++) {
    const c = chunk(i);
    if (told.has(c)) continue;
    const tell = 1 + (i % 255);
    assert.equal(ask(c, tell), -1, `chunk ${i} is new`);
    told.set(c, tell);
    // Every chunk told so far is either still known with its own count or forgotten (a miss): never another's count.
    for (const [t, n] of told) {
      const got = ask(t, n);
      if (got === -1) forgotten++;
      else assert.equal(got, n, JSON.stringify(t));
    }
  }
  assert.equal(k.tableSlots, 64, 'the table doubled up to its largest size');
  assert.ok(forgotten > 0, 'a full table starts over');
  for (const bad of [0, 256, 1000]) {
    const c = ` unkept${bad}`;
    assert.equal(ask(c, bad), -1);
    assert.equal(ask(c, 3), -1, `a count of ${bad} is not kept`);
    assert.equal(ask(c, 3), 3);
  }
  // A text of many chunks adds up what the table knows of each.
  const last = [...told].filter(([t]) => t.length > 1).slice(-20);
  for (let round = 0; round < 3 && last.some(([t, n]) => ask(t, n) === -1); round++);
  const text = last.map(([t]) => t).join('');
  assert.equal(k.countChunks(k.load(text), text.length, 64), last.reduce((a, [, n]) => a + n, 0));
  assert.equal(k.misses, 0);
});
