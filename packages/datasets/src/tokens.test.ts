import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FsStorage } from '@edgetune/storage';
import { loadTokenCounter, pyDumps, shapeKey, type TokenCounter } from './tokens';
import type { TextKernel } from './text-kernel';
import { seededRandom } from '@edgetune/contracts/testing';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const trainerDir = path.join(repo, 'workers', 'trainer');
const root = mkdtempSync(path.join(os.tmpdir(), 'edgetune-tokens-'));
let counter: TokenCounter;

before(async () => {
  const dir = path.join(root, 'base-models', 'lfm2-tiny');
  mkdirSync(dir, { recursive: true });
  execFileSync(path.join(trainerDir, '.venv', 'bin', 'python'), ['-c', 'import sys; from edgetune_trainer import tiny_model; tiny_model.write_tokenizer(sys.argv[1])', dir], { cwd: trainerDir });
  const r = await loadTokenCounter('lfm2-tiny', new FsStorage(root));
  assert.ok(r.counter, r.availability.reason);
  counter = r.counter;
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the piece scanner and piece table count exactly what the library encoder counts (fuzz)', () => {
  // Characters chosen to hit every branch of the split regex: apostrophe suffixes, letters with
  // and without a leading space/punctuation, digit runs, punctuation runs with newlines,
  // whitespace runs (spaces, tabs, \v, \f, \r\n, NBSP, ideographic space), non-ASCII letters
  // and digits, astral characters, and the added tokens themselves.
  const pool = ["'", 's', 'S', 't', 'r', 'e', 'E', 'v', 'm', 'l', 'L', 'd', 'a', 'Z', ' ', ' ', '  ', '\t', '\v', '\f', '\n', '\r\n', '\r', '0', '7', '12345', '.', ',', '!?', '"', '(', ')', '-', '<', '>', '|', 'é', 'ß', 'Ω', '東京', 'ー', '١٢', '²', '½', '\u00a0', '\u3000', '\u2028', '🙂', '𝔘', '<|im_start|>', '<|im_end|>', '<|endoftext|>'];
  const rnd = seededRandom(12345);
  const lib = (t: string): number => (counter as unknown as { libraryCount(t: string): number }).libraryCount(t);
  for (let i = 0; i < 3000; i++) {
    let t = '';
    const len = 1 + rnd(40);
    for (let j = 0; j < len; j++) t += pool[rnd(pool.length)];
    assert.equal(counter.countText(t), lib(t), `text ${JSON.stringify(t)}`);
  }
});

test('first-seen pieces of the LFM2 tokenizer are counted by our merge loop, not the library', () => {
  const c = counter as unknown as { merges: { count(w: string): number } | null; byteLevel: { pre_tokenize_text(t: string): string[] }; model: { encode(t: string[]): string[] } };
  assert.ok(c.merges, 'lfm2-tiny is plain byte-level BPE');
  for (const piece of [' hello', ' world', 'ation', ' 東京', ' déjà', '12345', ' \n\n', '🙂🙂']) {
    for (const p of c.byteLevel.pre_tokenize_text(piece)) assert.equal(c.merges.count(p), c.model.encode([p]).length, JSON.stringify(piece));
  }
});

test('the piece table grows and keeps its counts (rehashed pieces still count right)', () => {
  const lib = (t: string): number => (counter as unknown as { libraryCount(t: string): number }).libraryCount(t);
  // 20k distinct words: far more than the table's first size, so it doubles several times.
  const word = (i: number): string => {
    let w = '';
    for (let n = i + 1; n > 0; n = Math.floor(n / 26)) w += String.fromCharCode(97 + (n % 26));
    return w;
  };
  const texts = Array.from({ length: 400 }, (_, t) => Array.from({ length: 50 }, (_, k) => ` ${word(t * 50 + k)}`).join(''));
  const first = texts.map((t) => counter.countText(t));
  assert.ok((counter as unknown as { pieceTable: { slots: number } }).pieceTable.slots >= 32768, 'the table grew from 4096 slots to hold 20k pieces');
  assert.ok(counter.kernel.tableSlots >= 32768, 'the chunk table grew from 4096 slots to hold 20k chunks');
  texts.forEach((t, i) => assert.equal(counter.countText(t), first[i], `text ${i} again (from the table)`));
  for (let i = 0; i < texts.length; i += 37) assert.equal(first[i], lib(texts[i]), `text ${i}`);
});

test('every chunk cut is a boundary of the split regex: pre-tokenizing chunk by chunk gives the pieces of the whole text (fuzz)', () => {
  const c = counter as unknown as { kernel: TextKernel; tok: { pre_tokenizer: { pre_tokenize_text(t: string): string[] } } };
  const pre = (t: string): string[] => c.tok.pre_tokenizer.pre_tokenize_text(t);
  const pool = ['a', 'Bc', ' ', ' ', '  ', '   ', '\t', '\n', '\r\n', ' \n', '\v', '\f', '\u0085', '\u00a0', '\u1680', '\u2000', '\u200a', '\u200b', '\u2028', '\u202f', '\u205f', '\u3000', '\ufeff', '.', ',', '!?', "'", "'s", "'ll", '7', '123', '-', 'é', '东京', '🙂'];
  const rnd = seededRandom(4242);
  let cuts = 0;
  for (let i = 0; i < 6000; i++) {
    let t = '';
    for (let j = 1 + rnd(30); j > 0; j--) t += pool[rnd(pool.length)];
    c.kernel.countChunks(c.kernel.load(t), t.length, 64);
    const ends = c.kernel.chunkEnds();
    const n = ends.length;
    assert.equal(ends[n - 1], t.length);
    const chunks = ends.map((e, k) => t.slice(k ? ends[k - 1] : 0, e));
    for (const ch of chunks.slice(1)) assert.match(ch, /^ /, 'a chunk starts with a space');
    cuts += n - 1;
    assert.deepEqual(chunks.flatMap(pre), pre(t), `text ${JSON.stringify(t)} cut as ${JSON.stringify(chunks)}`);
  }
  assert.ok(cuts > 5000, `${cuts} cuts checked`);
});

test('counting by chunks (cut before a space after a non-space) equals the library, for long chunks and every kind of space', () => {
  const lib = (t: string): number => (counter as unknown as { libraryCount(t: string): number }).libraryCount(t);
  const texts = [
    `${'x'.repeat(70)} tail`, // a chunk longer than the table keeps
    `lead ${'é'.repeat(65)}... ${'9'.repeat(80)}`,
    'a  b   c    d\t\te \u00a0f\u3000g \n h\r\n i  \n\n  j',
    "it's a 'test' -- don't   ' s 're ' ve x' 'll",
    '  leading and trailing  ',
    'emoji 🙂 🙂🙂 after  🙂x',
    '东京 タワー 12345 ١٢٣ ²½',
  ];
  for (const t of texts) assert.equal(counter.countText(t), lib(t), JSON.stringify(t));
  // The same texts again come from the chunk table.
  for (const t of texts) assert.equal(counter.countText(t), lib(t), `again: ${JSON.stringify(t)}`);
});

test('examples counted per message equal the rendered example counted by the library encoder (fuzz)', () => {
  // Contents that start with whitespace, newlines, punctuation, digits, added tokens or nothing
  // at all, so both the per-message path and its fallbacks run; each shape repeats many times
  // (the per-message path only starts after a shape's first verified examples).
  const starts = ['', ' ', '\n', '\r\n', '\t', '.', '7', 'A', 'é', '\u00a0', '\u3000', '🙂', "'s", '<|im_end|>', '<|im_start|>user', 'The', 'so', '"', 'Ω'];
  const words = ['hello', ' world', '!', ' 42', '\n\n', '  ', 'naïve', ' café', '<|im_end|>', "'ll", ' x ', '\t', '东京', ' '];
  const rnd = seededRandom(777);
  const content = (): string => {
    let t = starts[rnd(starts.length)];
    const n = rnd(8);
    for (let j = 0; j < n; j++) t += words[rnd(words.length)];
    return t;
  };
  const c = counter as unknown as {
    libraryCount(t: string): number;
    renderRaw(m: unknown[], tools: null): string;
    countPerMessage(m: unknown[]): number;
  };
  const perMessage = c.countPerMessage.bind(counter);
  let used = 0;
  c.countPerMessage = (m) => {
    const n = perMessage(m);
    if (n >= 0) used++;
    return n;
  };
  try {
    for (let i = 0; i < 1500; i++) {
      const msgs: { role: string; content: string }[] = [];
      if (i % 3 === 0) msgs.push({ role: 'system', content: ['You are terse.', 'Answer in French.', content()][rnd(3)] });
      // Up to nine messages, some excluded from the loss or named: both kinds of shape key.
      const turns = 1 + rnd(4);
      for (let t = 0; t < turns; t++) {
        msgs.push({ role: 'user', content: content(), ...(rnd(5) === 0 ? { name: 'ana' } : {}) });
        msgs.push({ role: 'assistant', content: content(), ...(rnd(4) === 0 ? { weight: 0 } : {}) });
      }
      assert.equal(counter.countExample(msgs, null), c.libraryCount(c.renderRaw(msgs, null)), `example ${JSON.stringify(msgs)}`);
    }
  } finally {
    c.countPerMessage = perMessage;
  }
  assert.ok(used > 150, `the per-message path counted ${used} examples`);
  assert.equal(counter.fastPathNote, null, 'no fast path was turned off');
});

test('template shape keys are equal exactly when role, weight-0 and name sequences are', () => {
  const roles = ['system', 'user', 'assistant', 'tool', 'developer'];
  const rnd = seededRandom(5);
  const seen = new Map<number | string, string>();
  const check = (spec: number[]): void => {
    const msgs = spec.map((c) => ({ role: roles[c % 5], content: 'x', ...(c & 8 ? { weight: 0 } : {}), ...(c & 16 ? { name: 'n' } : {}) }));
    const key = shapeKey(msgs);
    assert.notEqual(key, null);
    const canonical = msgs.map((m) => `${m.role}${'weight' in m ? '0' : ''}${'name' in m ? '@' : ''}`).join(',');
    const before = seen.get(key as number | string);
    if (before === undefined) seen.set(key as number | string, canonical);
    else assert.equal(before, canonical, `key ${key}`);
  };
  const codes = [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 16, 17, 18, 19, 20, 24, 25, 26, 27, 28];
  for (const a of codes) {
    check([a]);
    for (const b of codes) {
      check([a, b]);
      for (const c of codes) check([a, b, c]);
    }
  }
  for (let i = 0; i < 20000; i++) check(Array.from({ length: 4 + rnd(5) }, () => codes[rnd(codes.length)]));
  assert.ok([...seen.keys()].some((k) => typeof k === 'number') && [...seen.keys()].some((k) => typeof k === 'string'), 'both kinds of key');
  assert.equal(shapeKey([{ role: 'user', content: null }]), null, 'tool-call turns are not simple');
});

test('pyDumps writes JSON as Python json.dumps(ensure_ascii=False) does', () => {
  const v = [{ name: 'f', arguments: { city: 'Zürich', n: 2, ok: true, list: [1, null, 'a"b'], nested: {} } }];
  const py = execFileSync(path.join(trainerDir, '.venv', 'bin', 'python'), ['-c', 'import json,sys; print(json.dumps(json.loads(sys.stdin.read()), ensure_ascii=False), end="")'], {
    input: JSON.stringify(v),
  }).toString();
  assert.equal(pyDumps(v), py);
});
