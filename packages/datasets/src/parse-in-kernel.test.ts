import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DomainError } from '@edgetune/contracts';
import { seededRandom } from '@edgetune/contracts/testing';
import { ingestDataset, type IngestOptions } from './index';
import { clearTokenizerCache } from './tokens';

/**
 * Chat lines of the common shape are parsed by the text kernel (TextKernel.parseChat) instead of
 * JSON.parse; every other line still goes to JSON.parse and the full checks. Ingesting a file
 * both ways must give the same result, report, statistics and stored bytes — or the same error.
 */

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const trainerDir = path.join(repo, 'workers', 'trainer');
const root = mkdtempSync(path.join(os.tmpdir(), 'edgetune-kernel-parse-'));

before(() => {
  process.env.STORAGE_URL = `file://${path.join(root, 'objects')}`;
  const tokDir = path.join(root, 'objects', 'base-models', 'lfm2-tiny');
  mkdirSync(tokDir, { recursive: true });
  execFileSync(path.join(trainerDir, '.venv', 'bin', 'python'), ['-c', 'import sys; from edgetune_trainer import tiny_model; tiny_model.write_tokenizer(sys.argv[1])', tokDir], { cwd: trainerDir });
});
after(() => rmSync(root, { recursive: true, force: true }));

let files = 0;

/** Ingests `text` with the kernel parsing lines or not: the result without its timings, the stored bytes, or the error. */
async function ingest(text: string, parseInKernel: boolean, opts: Partial<IngestOptions> = {}) {
  clearTokenizerCache();
  const dir = path.join(root, `case-${++files}`);
  mkdirSync(dir);
  const input = path.join(dir, 'data.jsonl');
  writeFileSync(input, text);
  const out = path.join(dir, 'normalized.jsonl');
  try {
    const r = await ingestDataset(input, out, { filename: 'data.jsonl', baseModel: 'lfm2-tiny', maxDecompressedBytes: 1 << 30, parseInKernel, ...opts });
    const { validation_ms: _v, tokenizer_ms: _t, ...stats } = r.stats;
    return { result: { ...r, stats, parsedInKernel: 0 }, parsedInKernel: r.parsedInKernel, stored: readFileSync(out, 'utf8') };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { error: { message: e.message, details: e.details } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bothWays(text: string, opts: Partial<IngestOptions> = {}) {
  const kernel = await ingest(text, true, opts);
  const parsed = await ingest(text, false, opts);
  assert.deepEqual(kernel.error, parsed.error, 'the same error');
  assert.deepEqual(kernel.result, parsed.result, 'the same result, report and statistics');
  assert.equal(kernel.stored, parsed.stored, 'the same stored bytes');
  assert.equal(parsed.parsedInKernel ?? 0, 0);
  return kernel;
}

// ---- a generator of chat lines written the many ways JSON allows

const words = [
  'hello', 'World', 'the', 'order', 'Refund', 'BILLING', "it's", "they'll", '12345', '3.14', 'naïve', 'café', '日本語', 'Привет', '🙂', '👍🏽',
  'x'.repeat(70), '.', ',', '!', '?', '(', ')', '-', '—', '"', '\\', '/', '<', '>', '<|im_start|>', '<|im_end|>', '<b>', 'a@b.com',
  'mail jane.doe@example.org', 'call +1 (555) 010-9999', '555-010-9999', '4111 1111 1111 1111', '\u00a0', '\u2028', '\ufeff', '\u3000',
];
const spaces = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ' \n '];

function content(rnd: (n: number) => number): string {
  // Never blank: the first word is one of the first twelve.
  let s = words[rnd(12)];
  const n = rnd(12);
  for (let i = 0; i < n; i++) s += spaces[rnd(spaces.length)] + words[rnd(words.length)];
  if (rnd(60) === 0) s = spaces[rnd(spaces.length)] + s;
  if (rnd(8) === 0) s += spaces[rnd(spaces.length)];
  return s;
}

/** A JSON string of `s`, with some characters written as \u escapes (a surrogate pair as two) and '/' sometimes as '\/'. */
function jsonString(s: string, rnd: (n: number) => number): string {
  const plain = JSON.stringify(s);
  if (rnd(3) !== 0) return plain;
  let out = '"';
  for (let i = 1; i < plain.length - 1; i++) {
    const c = plain[i];
    if (c === '\\') {
      const n = plain[i + 1] === 'u' ? 6 : 2;
      out += plain.slice(i, i + n);
      i += n - 1;
    } else if (c === '/' && rnd(2)) out += '\\/';
    else if (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) < 0xdc00) {
      // a surrogate pair: both halves escaped, or neither
      const pair = plain.slice(i, i + 2);
      out += rnd(2) ? `\\u${pair.charCodeAt(0).toString(16)}\\u${pair.charCodeAt(1).toString(16).toUpperCase()}` : pair;
      i++;
    }
    else if ((c.charCodeAt(0) > 127 || rnd(20) === 0) && rnd(2)) {
      const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
      out += `\\u${rnd(2) ? hex : hex.toUpperCase()}`;
    }
    else out += c;
  }
  return `${out}"`;
}

const ws = (rnd: (n: number) => number): string => ['', '', '', ' ', '  ', '\t', ' \t '][rnd(7)];

type Msg = { role: string; content: string; weight?: number; name?: string };

function line(msgs: Msg[], rnd: (n: number) => number, top: Record<string, unknown> = {}): string {
  const msg = (m: Msg): string => {
    const fields = [`"role"${ws(rnd)}:${ws(rnd)}${JSON.stringify(m.role)}`, `"content"${ws(rnd)}:${ws(rnd)}${jsonString(m.content, rnd)}`];
    if (m.weight !== undefined) fields.push(`"weight"${ws(rnd)}:${ws(rnd)}${m.weight}`);
    if (m.name !== undefined) fields.push(`"name":${JSON.stringify(m.name)}`);
    for (let i = fields.length - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [fields[i], fields[j]] = [fields[j], fields[i]];
    }
    return `{${ws(rnd)}${fields.join(`${ws(rnd)},${ws(rnd)}`)}${ws(rnd)}}`;
  };
  const extra = Object.entries(top).map(([k, v]) => `,"${k}":${JSON.stringify(v)}`).join('');
  return `${ws(rnd)}{${ws(rnd)}"messages"${ws(rnd)}:${ws(rnd)}[${ws(rnd)}${msgs.map(msg).join(`${ws(rnd)},${ws(rnd)}`)}${ws(rnd)}]${extra}${ws(rnd)}}${ws(rnd)}`;
}

const labels = ['Billing', 'billing.', '  Refund ', 'Shipping', 'refund', '\tBilling\n'];

function conversation(rnd: (n: number) => number): Msg[] {
  const msgs: Msg[] = [];
  if (rnd(3)) msgs.push({ role: 'system', content: rnd(2) ? 'You are a helpful assistant for an online store.' : content(rnd) });
  const turns = 1 + (rnd(20) === 0 ? 3 + rnd(4) : rnd(3));
  for (let t = 0; t < turns; t++) {
    msgs.push({ role: 'user', content: content(rnd) });
    const last = t === turns - 1;
    const m: Msg = { role: 'assistant', content: last && rnd(3) === 0 ? labels[rnd(labels.length)] : content(rnd) };
    if (rnd(6) === 0) m.weight = last ? 1 : rnd(2);
    msgs.push(m);
  }
  return msgs;
}

/** A valid line, mostly of the shape the kernel takes, sometimes of one it leaves to JSON.parse. */
function validLine(rnd: (n: number) => number, previous: string[]): string {
  const r = rnd(40);
  if (previous.length && r === 0) return previous[rnd(previous.length)]; // an exact duplicate
  if (previous.length && r === 1) return previous[rnd(previous.length)].replace(/"content":"(.)/, (_m, c: string) => `"content":"${c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()}`);
  const msgs = conversation(rnd);
  if (r === 2) msgs[0].name = 'ann'; // a name: not the kernel's shape
  if (r === 3) msgs[msgs.length - 1].content = 'Only 日本語'; // not blank, but no printable ASCII
  if (r === 4) msgs[msgs.length - 1].content = `${msgs[msgs.length - 1].content} \ud83d`; // a lone surrogate (escaped)
  if (r === 5) return line(msgs, rnd).replace(/"weight"(\s*):(\s*)1/, '"weight"$1:$21.0');
  if (r === 6) return line(msgs, rnd).replace('"role"', '"r\\u006fle"');
  if (r === 7) return line(msgs, rnd).replace(/"content"(\s*):(\s*)"/, '"content":"dropped","content"$1:$2"');
  if (r === 8) return line(msgs, rnd, { tools: [{ type: 'function', function: { name: 'lookup' } }] });
  if (r === 9) return line(msgs, rnd, { parallel_tool_calls: false });
  if (r === 10) return JSON.stringify({ messages: [{ role: 'user', content: 'Weather?' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content: '21' }, { role: 'assistant', content: 'It is 21.' }] });
  if (r === 11) return line(Array.from({ length: 70 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` })), rnd);
  return line(msgs, rnd);
}

test('valid files give the same result, report, statistics and stored bytes whether lines are parsed in the kernel or by JSON.parse (fuzz)', async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const rnd = seededRandom(seed);
    const lines: string[] = [];
    for (let i = 0; i < 800; i++) lines.push(validLine(rnd, lines));
    const text = lines.join(seed % 2 ? '\n' : '\r\n') + (seed % 3 ? '\n' : '');
    const r = await bothWays(text);
    assert.ok(r.result, `seed ${seed}: ${JSON.stringify(r.error)}`);
    assert.ok(r.parsedInKernel > r.result.examples / 2 && r.parsedInKernel < r.result.examples, `seed ${seed}: ${r.parsedInKernel} of ${r.result.examples} lines parsed in the kernel, the others by JSON.parse`);
    const codes = r.result.report.warnings.map((w) => w.code);
    for (const c of ['duplicates', 'near_duplicates', 'pii_email', 'pii_phone']) assert.ok(codes.includes(c), `seed ${seed}: ${c} warning present (${codes.join(', ')})`);
  }
});

test('a label set, too-long examples and a line too long for the kernel come out the same both ways', async () => {
  const rnd = seededRandom(99);
  const lines = Array.from({ length: 300 }, (_, i) =>
    line([{ role: 'user', content: content(rnd) }, { role: 'assistant', content: i % 40 === 0 ? 'word '.repeat(2000) : labels[i % 7 === 0 ? 0 : rnd(labels.length)] }], rnd),
  );
  // A line longer than the kernel parses (its memory grows with the longest line): JSON.parse's.
  lines.push(line([{ role: 'user', content: 'Summarize this.' }, { role: 'assistant', content: 'long '.repeat(60000) }], rnd));
  const r = await bothWays(lines.join('\n'));
  assert.ok(r.result && r.parsedInKernel > 200 && r.parsedInKernel < r.result.examples);
  const codes = r.result.report.warnings.map((w) => w.code);
  assert.ok(codes.includes('too_long'), codes.join(', '));
  assert.ok(r.result.report.stats.labels?.length, 'the answers form a label set');
});

test('lines the kernel must not judge get the same errors from JSON.parse and the full checks', async () => {
  const ok = JSON.stringify({ messages: [{ role: 'user', content: 'Hello there, how are you?' }, { role: 'assistant', content: 'Fine, thanks for asking.' }] });
  const bad = [
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":" \\n\\t "}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"\\u00a0\\u3000"}]}',
    '{"messages":[{"role":"assistant","content":"hi"},{"role":"user","content":"bye"}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes","weight":0}]}',
    '{"messages":[{"role":"user","content":"hi","weight":1},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes","weight":2}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes","weight":01}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes","weight":-0}]}',
    '{"messages":[{"role":"tool","content":"hi"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"robot","content":"hi"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"}]',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"},]}',
    '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"}]} x',
    '{"messages":[{"role":"user","content":"a\ttab"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":"bad \\x escape"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":"bad \\u12G4"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":"unterminated},{"role":"assistant","content":"yes"}]}',
    '{"messages":[]}',
    '{"messages":["hi"]}',
    '{"messages":[{"role":"user","content":5},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":null},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"content":"hi"},{"role":"assistant","content":"yes"}]}',
    '{"messages":[{"role":"user","content":"hi"}],"extra":1}',
    '{"prompt":"hi","completion":"there"}',
    '\u00a0{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"}]}',
  ];
  for (const b of bad) {
    const r = await bothWays(`${ok}\n${b}\n${ok}\n`);
    assert.ok(r.error, `an error for ${b}`);
  }
  // A chat line in a file of another format is that format's error, both ways.
  const pc = JSON.stringify({ prompt: 'Hi there', completion: 'Hello to you' });
  assert.ok((await bothWays(`${pc}\n${ok}\n`)).error);
  assert.ok((await bothWays(`${ok}\n`, { format: 'preference' })).error);
  assert.ok((await bothWays(`${ok}\n`, { format: 'chat' })).result);
});
