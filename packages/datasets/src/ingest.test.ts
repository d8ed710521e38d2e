import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { DomainError } from '@edgetune/contracts';
import { estimateTraining, ingest, ingestDataset, trainingPrice, type IngestOptions, type IngestResult } from './index';
import { clearTokenizerCache } from './tokens';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const trainerDir = path.join(repo, 'workers', 'trainer');
const python = path.join(trainerDir, '.venv', 'bin', 'python');
const root = mkdtempSync(path.join(os.tmpdir(), 'edgetune-ingest-'));
const storeDir = path.join(root, 'objects');

before(() => {
  // The tokenizer lives where the trainer stages lfm2-tiny: <store>/base-models/lfm2-tiny.
  process.env.STORAGE_URL = `file://${storeDir}`;
  const tokDir = path.join(storeDir, 'base-models', 'lfm2-tiny');
  mkdirSync(tokDir, { recursive: true });
  execFileSync(python, ['-c', 'import sys; from edgetune_trainer import tiny_model; tiny_model.write_tokenizer(sys.argv[1])', tokDir], { cwd: trainerDir });
  clearTokenizerCache();
});
after(() => {
  rmSync(root, { recursive: true, force: true });
  // The stream entry point spools Parquet to a temporary folder; none may outlive its ingest.
  assert.deepEqual(readdirSync(os.tmpdir()).filter((f) => f.startsWith('edgetune-parquet-')), []);
});

let n = 0;
interface Run {
  dir: string;
  out: string;
  result?: IngestResult;
  error?: DomainError;
}

/** Ingests `content` from a fresh folder; failures come back as `error` with the folder to inspect. */
async function run(content: string | Buffer, filename: string, opts: Partial<IngestOptions> = {}): Promise<Run> {
  const dir = path.join(root, `case-${++n}`);
  mkdirSync(dir);
  const input = path.join(dir, filename);
  writeFileSync(input, content);
  const out = path.join(dir, 'normalized.jsonl');
  const options = { filename, maxDecompressedBytes: 1 << 30, ...opts };
  let r: Run;
  try {
    const result = await ingestDataset(input, out, options);
    r = { dir, out, result };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    r = { dir, out, error: e };
  }
  await sameThroughStreams(Buffer.from(content), options, r);
  return r;
}

const withoutTimings = (x: IngestResult) => {
  const { validation_ms: _v, tokenizer_ms: _t, ...stats } = x.stats as Record<string, unknown>;
  const { stats: reportStats, ...report } = x.report as unknown as Record<string, unknown>;
  const { validation_ms: _rv, tokenizer_ms: _rt, mb_per_second: _m, ...rs } = (reportStats ?? {}) as Record<string, unknown>;
  return { ...x, stats, report: { ...report, stats: rs } };
};

/**
 * Every case also goes through the stream entry point, in odd-sized chunks: the same result (but
 * for timings), the same output bytes, or the same error.
 */
async function sameThroughStreams(content: Buffer, options: IngestOptions, byFile: Run): Promise<void> {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < content.length; i += 7777) yield content.subarray(i, i + 7777);
  }
  const got: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _enc, done) {
      got.push(c);
      done();
    },
  });
  try {
    const result = await ingest(chunks(), sink, options);
    assert.ok(byFile.result, `the stream was accepted but the file was refused: ${byFile.error?.message}`);
    assert.deepEqual(withoutTimings(result), withoutTimings(byFile.result));
    assert.deepEqual(Buffer.concat(got), readFileSync(byFile.out));
  } catch (e) {
    if (e instanceof assert.AssertionError || !(e instanceof DomainError)) throw e;
    assert.ok(byFile.error, `the file was accepted but the stream was refused: ${e.message}`);
    assert.equal(e.message, byFile.error.message);
    assert.deepEqual(e.details, byFile.error.details);
    assert.ok(sink.destroyed, 'the output stream is destroyed on failure');
  }
}

/** The error, and proof that nothing but the input is left in the folder. */
function failed(r: Run, filename: string): DomainError {
  assert.ok(r.error, `expected a validation error, got ${JSON.stringify(r.result?.report)}`);
  assert.equal(r.error.code, 'validation_failed');
  assert.deepEqual(readdirSync(r.dir), [filename], 'no output or temporary file is left behind');
  return r.error;
}

const chat = (user: string, answer: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: answer }], ...extra });
const jsonl = (lines: string[]): string => lines.join('\n') + '\n';
const many = <T>(k: number, f: (i: number) => T): T[] => Array.from({ length: k }, (_, i) => f(i));

describe('formats', () => {
  test('chat JSONL with tools, tool calls and weights is kept as given', async () => {
    const toolRecord = JSON.stringify({
      messages: [
        { role: 'system', content: 'You can look up the weather.' },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '{"temp": 21}' },
        { role: 'assistant', content: 'It is 21 °C in Paris.' },
      ],
      tools: [{ type: 'function', function: { name: 'weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    const weighted = JSON.stringify({
      messages: [
        { role: 'user', content: 'Say hi to the team please' },
        { role: 'assistant', content: 'hello', weight: 0 },
        { role: 'user', content: 'Again, louder this time' },
        { role: 'assistant', content: 'HELLO EVERYONE', weight: 1 },
      ],
    });
    const lines = [toolRecord, weighted, chat('What is the capital of France?', 'Paris is the capital of France.')];
    const content = jsonl(lines);
    const r = await run(content, 'chat.jsonl');
    assert.ifError(r.error);
    const res = r.result as IngestResult;
    assert.equal(res.format, 'chat');
    assert.equal(res.examples, 3);
    assert.equal(res.sha256, createHash('sha256').update(content).digest('hex'));
    assert.equal(readFileSync(r.out, 'utf8'), content);
    assert.equal(res.normalizedBytes, Buffer.byteLength(content));
    assert.deepEqual(res.source, { filename: 'chat.jsonl', container: 'jsonl', compression: 'none', uploadedBytes: Buffer.byteLength(content), normalizedBytes: Buffer.byteLength(content) });
    const s = res.report.stats;
    assert.equal(s.messages, 11);
    assert.deepEqual(s.roles, { system: 1, user: 4, assistant: 5, tool: 1 });
    assert.equal(s.toolCalls, 1);
    assert.equal(s.examplesWithTools, 1);
    assert.equal(s.excludedTurns, 1);
    assert.ok(s.tokens && s.tokens.total > 0);
  });

  test('lines across read chunks, a 3 MB line, multi-byte characters and CRLF come out intact', async () => {
    const lines = many(12_000, (i) => chat(`Question ${i} — café 東京 ${'x'.repeat(i % 700)}`, `Answer ${i} 🙂`));
    lines.splice(5000, 0, chat(`A very long question: ${'ü'.repeat(1_500_000)}`, 'A long answer'));
    const content = jsonl(lines);
    const r = await run(content, 'chunks.jsonl', { baseModel: 'lfm2-350m' });
    assert.ifError(r.error);
    assert.equal(r.result?.examples, lines.length);
    assert.ok(Buffer.byteLength(content) > 8 << 20, 'spans several 1 MB read chunks');
    assert.equal(readFileSync(r.out, 'utf8'), content);
    const crlf = await run(lines.slice(0, 3000).join('\r\n') + '\r\n\r\n', 'crlf.jsonl', { baseModel: 'lfm2-350m' });
    assert.equal(crlf.result?.examples, 3000);
    assert.equal(readFileSync(crlf.out, 'utf8'), jsonl(lines.slice(0, 3000)));
  });

  test('prompt/completion JSONL is stored as chat', async () => {
    const r = await run(jsonl([JSON.stringify({ prompt: 'Translate "chat" to English', completion: 'cat' }), JSON.stringify({ prompt: 'Translate "chien" to English', completion: 'dog' })]), 'pc.jsonl');
    assert.ifError(r.error);
    assert.equal(r.result?.format, 'prompt_completion');
    assert.deepEqual(readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [
      { messages: [{ role: 'user', content: 'Translate "chat" to English' }, { role: 'assistant', content: 'cat' }] },
      { messages: [{ role: 'user', content: 'Translate "chien" to English' }, { role: 'assistant', content: 'dog' }] },
    ]);
  });

  test('preference JSONL: strings and message arrays', async () => {
    const a = { prompt: 'Write a greeting for a new user', chosen: 'Welcome aboard! Glad you are here.', rejected: 'hi' };
    const b = {
      prompt: [{ role: 'user', content: 'Summarize: the cat sat on the mat.' }],
      chosen: [{ role: 'assistant', content: 'A cat sat on a mat.' }],
      rejected: [{ role: 'assistant', content: 'Dogs are great.' }],
    };
    const r = await run(jsonl([JSON.stringify(a), JSON.stringify(b)]), 'pref.jsonl');
    assert.ifError(r.error);
    assert.equal(r.result?.format, 'preference');
    assert.deepEqual(readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [a, b]);
    assert.ok((r.result?.report.stats.tokens?.total ?? 0) > 0);
  });

  test('gzip is detected by its magic bytes, whatever the name', async () => {
    const content = jsonl(many(5, (i) => chat(`Question number ${i} about gzip`, `Answer ${i}`)));
    const gz = gzipSync(content);
    for (const name of ['data.jsonl.gz', 'data.jsonl']) {
      const r = await run(gz, name);
      assert.ifError(r.error);
      assert.equal(r.result?.examples, 5);
      assert.equal(r.result?.source.compression, 'gzip');
      assert.equal(r.result?.sha256, createHash('sha256').update(gz).digest('hex'), 'sha256 of the bytes as uploaded');
      assert.equal(r.result?.uploadedBytes, gz.length);
      assert.equal(readFileSync(r.out, 'utf8'), content);
    }
  });

  // Two chat lines compressed with `zstd -19` (no zstd compressor in node 20).
  const zst = Buffer.from(
    'KLUv/STmtQMAkgcYGIBtDkD4UZaxHeFfNewCk2xcExWQNqb0CUBEogas5OucIEu5zkZ/l+yWJ4CIRA16H/iWdK/9DKHnJTm02377d0UVlD6Vb9nbFMq0Hbd7iS6F/EiZsvOgVgfTM7M/P1oFBgADQ4XqdcRBIs2hHFIdea1Qe7LSVfU=',
    'base64',
  );

  test('zstd', async () => {
    const r = await run(zst, 'data.jsonl.zst');
    assert.ifError(r.error);
    assert.equal(r.result?.examples, 2);
    assert.equal(r.result?.source.compression, 'zstd');
    assert.match(readFileSync(r.out, 'utf8'), /A compression format/);
  });

  test('CSV with a column mapping (quoted commas and newlines)', async () => {
    const csv = 'id,question,answer\n1,"What is 2+2, roughly?",four\n2,"Two\nlines","yes, ""quoted"""\n';
    const r = await run(csv, 'qa.csv', { columns: { prompt: 'question', completion: 'answer' } });
    assert.ifError(r.error);
    assert.equal(r.result?.format, 'prompt_completion');
    assert.deepEqual(r.result?.source.columns, { prompt: 'question', completion: 'answer' });
    assert.deepEqual(readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).messages), [
      [{ role: 'user', content: 'What is 2+2, roughly?' }, { role: 'assistant', content: 'four' }],
      [{ role: 'user', content: 'Two\nlines' }, { role: 'assistant', content: 'yes, "quoted"' }],
    ]);
  });

  test('CSV with a messages column holding JSON, header names used without a mapping; gzip-compressed TSV', async () => {
    const m = JSON.stringify([{ role: 'user', content: 'Hi there, friend' }, { role: 'assistant', content: 'Hello, how can I help?' }]);
    const csv = `messages\n"${m.replace(/"/g, '""')}"\n`;
    const r = await run(csv, 'conv.csv');
    assert.ifError(r.error);
    assert.equal(r.result?.format, 'chat');
    assert.equal(JSON.parse(readFileSync(r.out, 'utf8')).messages[1].content, 'Hello, how can I help?');
    const tsv = gzipSync('prompt\tcompletion\nname a colour please\tblue\n');
    const t = await run(tsv, 'x.tsv.gz');
    assert.ifError(t.error);
    assert.equal(t.result?.examples, 1);
  });

  test('Parquet with a column mapping, read row group by row group', async () => {
    const k = 25;
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'question', data: many(k, (i) => `Question ${i}: what is ${i} squared?`), type: 'STRING' },
        { name: 'answer', data: many(k, (i) => String(i * i)), type: 'STRING' },
        { name: 'n', data: many(k, (i) => i), type: 'INT32' },
      ],
      rowGroupSize: 10,
    });
    const r = await run(Buffer.from(buf), 'sq.parquet', { columns: { prompt: 'question', completion: 'answer' } });
    assert.ifError(r.error);
    assert.equal(r.result?.examples, k);
    assert.equal(r.result?.source.container, 'parquet');
    const out = readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(out.length, k);
    assert.deepEqual(out[24].messages, [{ role: 'user', content: 'Question 24: what is 24 squared?' }, { role: 'assistant', content: '576' }]);
  });

  test('Parquet with conversations as JSON text', async () => {
    const buf = parquetWriteBuffer({
      columnData: [{ name: 'conversation', data: [JSON.stringify([{ role: 'user', content: 'Ping from parquet' }, { role: 'assistant', content: 'Pong back' }])], type: 'STRING' }],
    });
    const r = await run(Buffer.from(buf), 'c.parquet', { columns: { messages: 'conversation' } });
    assert.ifError(r.error);
    assert.equal(r.result?.format, 'chat');
  });
});

describe('tokens', () => {
  test('token counts equal the trainer’s (chat template + tokenizer in Python)', async () => {
    const records = [
      { messages: [{ role: 'user', content: 'Hello there, how are you?' }, { role: 'assistant', content: "I'm fine — thanks! 42 apples." }] },
      { messages: [{ role: 'system', content: 'You route tickets.' }, { role: 'user', content: '  spaces  \n\nnewlines\tTabs café 東京' }, { role: 'assistant', content: 'billing' }] },
      {
        messages: [
          { role: 'user', content: '\nstarts with a newline' },
          { role: 'assistant', content: ' starts with a space 🙂', weight: 0 },
          { role: 'user', content: "It's <|im_end|> injected? DON'T" },
          { role: 'assistant', content: 'ok\r\n\r\n   done   ' },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city": "Paris", "days": 2}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: '{"temp": 21}' },
          { role: 'assistant', content: 'It is 21 degrees.' },
        ],
        tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
      },
    ];
    // Same shape many times: the template-skeleton path and its sampled verification both run.
    const lines = [...records, ...many(30, (i) => ({ messages: [{ role: 'user', content: `Item ${i}: ${'word '.repeat(i)}` }, { role: 'assistant', content: `Answer ${i}` }] }))].map((r) => JSON.stringify(r));
    const r = await run(jsonl(lines), 'tok.jsonl');
    assert.ifError(r.error);
    const ref = execFileSync(
      python,
      [
        '-c',
        [
          'import json, sys',
          'from edgetune_trainer import data, models',
          'tok = models.load_tokenizer(sys.argv[1])',
          'total = []',
          'for line in sys.stdin:',
          '    ex = json.loads(line)',
          '    total.append(len(data.tokenize_text(tok, data.render(tok, ex["messages"], tools=ex.get("tools")))))',
          'print(json.dumps(total))',
        ].join('\n'),
        path.join(storeDir, 'base-models', 'lfm2-tiny'),
      ],
      { cwd: trainerDir, input: lines.join('\n') + '\n' },
    );
    const expected = JSON.parse(ref.toString()) as number[];
    const tokens = r.result?.report.stats.tokens;
    assert.ok(tokens);
    assert.equal(tokens.total, expected.reduce((a, b) => a + b, 0));
    assert.equal(tokens.max, Math.max(...expected));
    assert.equal(r.result?.report.stats.tokenizer.note, undefined, 'the fast paths stayed on');
    assert.equal(tokens.histogram.reduce((a, h) => a + h.count, 0), lines.length);
  });

  test('longer than a job of the base model trains on', async () => {
    // 600 words: within lfm2-tiny's 2048-token context, beyond the 512 tokens a job trains on.
    const long = chat('x '.repeat(600), 'done with it');
    const r = await run(jsonl([chat('A short question here', 'A short answer'), long]), 'long.jsonl');
    const w = r.result?.report.warnings.find((x) => x.code === 'too_long');
    assert.ok(w, 'too_long warning');
    assert.deepEqual(w.lines, [2]);
    assert.match(w.message, /^1 example is longer than the 512 tokens a fine-tuning job of lfm2-tiny trains on .*; training keeps the first 512 tokens of each\.$/);
  });

  test('no tokenizer staged: tokens null with the reason', async () => {
    const r = await run(jsonl([chat('A question for a big model', 'An answer')]), 'big.jsonl', { baseModel: 'lfm2-350m' });
    assert.ifError(r.error);
    const s = r.result?.report.stats;
    assert.equal(s?.tokens, null);
    assert.equal(s?.tokenizer.available, false);
    assert.match(s?.tokenizer.reason ?? '', /base-models\/lfm2-350m\/tokenizer\.json/);
    const est = estimateTraining(r.result!.report, 'lfm2-350m', 3);
    assert.equal(est.tokens, 0);
    assert.equal(est.seconds, null);
    assert.match(est.basis, /No token count/);
  });

  test('estimateTraining uses the counted tokens and only measured rates', async () => {
    const r = await run(jsonl([chat('A question to estimate', 'An answer to estimate')]), 'est.jsonl');
    const per = r.result!.report.stats.tokens!.total;
    const e = estimateTraining(r.result!.report, 'lfm2-tiny', 3);
    assert.deepEqual([e.tokens, e.seconds, e.costMinor], [per * 3, null, null]);
    const m = estimateTraining(r.result!.report, 'lfm2-tiny', 2, { tokensPerSecond: per, pricePerMillionTokensMinor: 1_000_000 });
    assert.deepEqual([m.tokens, m.seconds, m.costMinor], [per * 2, 2, per * 2]);
  });
});

describe('warnings', () => {
  const find = (r: Run, code: string) => r.result?.report.warnings.find((w) => w.code === code);

  test('exact and near duplicates', async () => {
    const r = await run(
      jsonl([chat('What is the capital of France?', 'Paris.'), chat('Where is Berlin located?', 'Germany.'), chat('What is the capital of France?', 'Paris.'), chat('what is the capital of france', 'PARIS')]),
      'dups.jsonl',
    );
    assert.deepEqual(find(r, 'duplicates')?.lines, [3]);
    const near = find(r, 'near_duplicates');
    assert.deepEqual(near?.lines, [4]);
    assert.match(near?.message ?? '', /case, whitespace and punctuation/);
  });

  test('too short', async () => {
    const r = await run(jsonl([chat('hi', 'yo'), chat('A long enough question here', 'and an answer')]), 'short.jsonl');
    assert.deepEqual(find(r, 'too_short')?.lines, [1]);
  });

  test('label imbalance: short final answers, one label ten times rarer', async () => {
    const lines = [...many(40, (i) => chat(`Ticket ${i}: I was charged twice`, 'Billing.')), chat('The app crashes on start', 'tech'), chat('Cannot log in anymore', 'billing')];
    const r = await run(jsonl(lines), 'labels.jsonl');
    const w = find(r, 'imbalance');
    assert.ok(w);
    assert.deepEqual(w.lines, [41]);
    assert.equal(w.count, 2);
    assert.deepEqual(r.result?.report.stats.labels, [
      { label: 'billing', count: 41 },
      { label: 'tech', count: 1 },
    ]);
    const balanced = await run(jsonl(many(20, (i) => chat(`Ticket ${i} about something`, i % 2 ? 'billing' : 'tech'))), 'balanced.jsonl');
    assert.equal(find(balanced, 'imbalance'), undefined);
  });

  test('likely personal data: email, phone, card (Luhn)', async () => {
    const r = await run(
      jsonl([
        chat('Contact me at jane.doe@example.com please', 'Noted, thanks.'),
        chat('Call me on +1 (415) 555-0100 tomorrow', 'Will do, thanks.'),
        chat('My card is 4111 1111 1111 1111, charge it', 'Charged, thanks.'),
        chat('Order 1234567890123 shipped on 2024-05-01', 'Great news to hear.'),
      ]),
      'pii.jsonl',
    );
    assert.deepEqual(find(r, 'pii_email')?.lines, [1]);
    assert.deepEqual(find(r, 'pii_phone')?.lines, [2]);
    assert.deepEqual(find(r, 'pii_card')?.lines, [3], 'a number failing the Luhn check is not a card');
  });

  test('warning line lists are bounded, counts are not', async () => {
    const r = await run(jsonl(many(50, () => chat('The same question every time', 'The same answer'))), 'same.jsonl');
    const w = find(r, 'duplicates');
    assert.equal(w?.count, 49);
    assert.equal(w?.lines.length, 20);
  });
});

describe('warning links: each listed line or row names the stored record it became', () => {
  const find = (r: Run, code: string) => r.result?.report.warnings.find((w) => w.code === code);
  const stored = (r: Run): unknown[] => readFileSync(r.out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  test('JSONL with blank and whitespace-only lines: lines stay lines of the file, records index the stored file', async () => {
    const upload = [
      '',
      chat('What is the capital of France?', 'Paris.'),
      '',
      '   ',
      chat('Where is Berlin located?', 'Germany.'),
      '\t',
      chat('What is the capital of France?', 'Paris.'),
      '',
      chat('hi', 'yo'),
      chat('Another question that is long enough', 'An answer.'),
    ];
    const r = await run(upload.join('\r\n') + '\r\n', 'blanks.jsonl');
    assert.ifError(r.error);
    assert.equal(r.result?.report.unit, 'line');
    const dup = find(r, 'duplicates');
    assert.deepEqual(dup?.lines, [7], 'the physical line, as an editor shows it');
    assert.deepEqual(dup?.records, [3], 'the third record of the stored file');
    assert.equal(dup?.fileLines, undefined);
    assert.deepEqual(stored(r)[2], JSON.parse(upload[6]));
    const short = find(r, 'too_short');
    assert.deepEqual([short?.lines, short?.records], [[9], [4]]);
    assert.deepEqual(stored(r)[3], JSON.parse(upload[8]));
  });

  test('the rarest label of an imbalance warning links to its records past blank lines', async () => {
    const upload: string[] = [];
    for (let i = 0; i < 30; i++) upload.push(chat(`Ticket ${i}: I was charged twice`, 'billing'), '');
    upload.push(chat('The app crashes on start', 'tech'));
    const r = await run(jsonl(upload), 'labels.jsonl');
    const w = find(r, 'imbalance');
    assert.deepEqual([w?.lines, w?.records], [[61], [31]]);
    assert.deepEqual(stored(r)[30], JSON.parse(upload[60]));
  });

  test('CSV: rows are data rows (1 = first after the header), with the line each starts on; multi-line cells and blank lines shift lines, not records', async () => {
    const csv = [
      'question,answer',
      '"A question that goes',
      'over two lines",first',
      '',
      'Where is Berlin located?,Germany',
      '"Three\r\nline\r\nquestion",third',
      '"A question that goes',
      'over two lines",first',
    ].join('\r\n');
    const r = await run(csv + '\r\n', 'multi.csv', { columns: { prompt: 'question', completion: 'answer' } });
    assert.ifError(r.error);
    assert.equal(r.result?.report.unit, 'row');
    assert.equal(r.result?.examples, 4);
    const dup = find(r, 'duplicates');
    assert.deepEqual(dup?.lines, [4], 'the fourth data row');
    assert.deepEqual(dup?.records, [4]);
    assert.deepEqual(dup?.fileLines, [9], 'header 1, row 1 on 2–3, blank 4, row 2 on 5, row 3 on 6–8, row 4 on 9–10');
    assert.deepEqual((stored(r)[3] as { messages: { content: string }[] }).messages[0].content, 'A question that goes\r\nover two lines');
    const lines = (csv + '\r\n').split(/\r\n|\n|\r/);
    assert.equal(lines[dup!.fileLines![0] - 1], '"A question that goes', 'the line named is where the row starts');
  });

  test('TSV: the row after a multi-line cell names its line, and an error there says row, line and field', async () => {
    const ok = 'prompt\tcompletion\n"two\nlines"\tx\nname a colour please\tblue\nname a colour please\tblue\n';
    const r = await run(ok, 'c.tsv');
    assert.ifError(r.error);
    assert.deepEqual([find(r, 'duplicates')?.lines, find(r, 'duplicates')?.records, find(r, 'duplicates')?.fileLines], [[3], [3], [5]]);
    const bad = failed(await run('prompt\tcompletion\n"two\nlines"\tx\n\nname a colour please\t\n', 'bad.tsv'), 'bad.tsv');
    assert.match(bad.message, /Row 2 \(line 5 of the file\): .*completion/);
    assert.equal((bad.details as { line: number; field: string }[])[0].line, 2);
    assert.equal((bad.details as { line: number; field: string }[])[0].field, 'completion');
  });

  test('CSV: a row with the wrong number of fields names its row and line', async () => {
    const e = failed(await run('prompt,completion\n"multi\nline",ok\nmore,fields,here\n', 'w.csv'), 'w.csv');
    assert.match(e.message, /CSV row 2 \(line 4 of the file\): 3 fields, but the header has 2/);
  });

  test('Parquet: rows are records, no file lines', async () => {
    const q = ['What is one plus one?', 'What is two plus two?', 'What is one plus one?'];
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'q', data: q, type: 'STRING' },
        { name: 'a', data: ['two', 'four', 'two'], type: 'STRING' },
      ],
    });
    const r = await run(Buffer.from(buf), 'd.parquet', { columns: { prompt: 'q', completion: 'a' } });
    assert.equal(r.result?.report.unit, 'row');
    const dup = find(r, 'duplicates');
    assert.deepEqual([dup?.lines, dup?.records, dup?.fileLines], [[3], [3], undefined]);
  });
});

describe('bad input', () => {
  test('record errors name the line and the field; the first 20 are listed with the total', async () => {
    const lines = [
      '{"messages": [',
      '[1,2]',
      '{"messages":[{"role":"robot","content":"x"},{"role":"assistant","content":"y"}]}',
      '{"messages":[{"role":"user","content":"  "},{"role":"assistant","content":"y"}]}',
      '{"messages":[{"role":"user","content":"only a user"}]}',
      '{"messages":[{"role":"user","content":5},{"role":"assistant","content":"y"}]}',
      '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","weight":2}]}',
      '{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{bad"}}]},{"role":"assistant","content":"a"}]}',
      '{"messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"nope","content":"r"},{"role":"assistant","content":"a"}]}',
      '{"prompt":"q","completion":"a"}',
      ...many(30, () => '{"messages": "not an array"}'),
    ];
    const r = await run(jsonl(lines), 'bad.jsonl');
    const e = failed(r, 'bad.jsonl');
    const byLine = new Map(e.details.map((d) => [d.line, d]));
    assert.match(byLine.get(1)!.message, /^Line 1: invalid JSON/);
    assert.match(byLine.get(2)!.message, /Line 2: .*cannot tell the dataset format/);
    assert.equal(byLine.get(3)!.field, 'messages[0].role');
    assert.match(byLine.get(3)!.message, /must be one of system, user, assistant, tool; got "robot"/);
    assert.equal(byLine.get(4)!.field, 'messages[0].content');
    assert.match(byLine.get(4)!.message, /is empty/);
    assert.match(byLine.get(5)!.message, /no assistant message/);
    assert.match(byLine.get(6)!.message, /messages\[0\]\.content must be a string; got number 5/);
    assert.equal(byLine.get(7)!.field, 'messages[1].weight');
    assert.equal(byLine.get(8)!.field, 'messages[1].tool_calls[0].function.arguments');
    assert.equal(byLine.get(9)!.field, 'messages[1].tool_call_id');
    assert.match(byLine.get(10)!.message, /this is a prompt_completion record, but the file is chat \(detected from line 3\)/);
    assert.equal(e.details.length, 20);
    assert.match(e.message, /^Invalid file format\. Line 1: invalid JSON/);
    assert.match(e.message, /40 errors on 40 lines in total; the first 20 are listed/);
  });

  test('binary garbage is refused early as not a dataset file', async () => {
    let x = 7;
    const garbage = Buffer.from(Buffer.alloc(200_000, 0).map(() => (x = (x * 1103515245 + 12345) & 0xff)));
    const e = failed(await run(garbage, 'data.jsonl'), 'data.jsonl');
    assert.match(e.message, /This is not a JSONL, CSV or Parquet file: its first bytes are binary/);
    const zip = failed(await run(Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(100, 65)]), 'data.jsonl'), 'data.jsonl');
    assert.match(zip.message, /looks like a ZIP archive/);
  });

  test('invalid UTF-8 in the middle names the line', async () => {
    const good = chat('A valid first line here', 'fine');
    const bad = Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"},{"role":"assistant","content":"x"}]}\n')]);
    const content = Buffer.concat([Buffer.from(`${good}\n${good}\n`), bad, Buffer.from(`${good}\n`)]);
    const e = failed(await run(content, 'u.jsonl'), 'u.jsonl');
    assert.equal(e.details.length, 1);
    assert.equal(e.details[0].line, 3);
    assert.match(e.details[0].message, /Line 3: invalid UTF-8 at byte 43 of the line \(0xc328/);
    const csv = Buffer.concat([Buffer.from('prompt,completion\na question,an answer\n'), Buffer.from([0xff]), Buffer.from('bad,row\n')]);
    const c = failed(await run(csv, 'u.csv'), 'u.csv');
    assert.match(c.message, /Line 3 of the CSV file: invalid UTF-8/);
  });

  test('a single 100 MB line is refused without holding it in memory', async () => {
    const dir = path.join(root, 'huge');
    mkdirSync(dir);
    const input = path.join(dir, 'huge.jsonl');
    const line = Buffer.alloc(100 * 1024 * 1024, 'a');
    line.write('{"messages":"', 0);
    writeFileSync(input, Buffer.concat([Buffer.from(`${chat('A normal first line', 'ok')}\n`), line, Buffer.from('\n'), Buffer.from(`${chat('A normal last line', 'ok')}\n`)]));
    const rssBefore = process.memoryUsage().rss;
    const out = path.join(dir, 'out.jsonl');
    await assert.rejects(ingestDataset(input, out, { filename: 'huge.jsonl', maxDecompressedBytes: 1 << 30 }), (e: DomainError) => {
      assert.equal(e.details.length, 1);
      assert.equal(e.details[0].line, 2);
      assert.match(e.details[0].message, /Line 2 is longer than 8388608 bytes/);
      return true;
    });
    // The file is read in 1 MB chunks and at most 8 MB of one line is held.
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, `RSS grew by ${(process.memoryUsage().rss - rssBefore) >> 20} MB`);
    assert.deepEqual(readdirSync(dir), ['huge.jsonl']);
  });

  test('truncated gzip and zstd', async () => {
    const gz = gzipSync(jsonl(many(2000, (i) => chat(`Question ${i} about truncation`, `Answer ${i}`))));
    const g = failed(await run(gz.subarray(0, gz.length >> 1), 'cut.jsonl.gz'), 'cut.jsonl.gz');
    assert.match(g.message, /gzip stream is truncated/);
    const zst = Buffer.from(
      'KLUv/STmtQMAkgcYGIBtDkD4UZaxHeFfNewCk2xcExWQNqb0CUBEogas5OucIEu5zkZ/l+yWJ4CIRA16H/iWdK/9DKHnJTm02377d0UVlD6Vb9nbFMq0Hbd7iS6F/EiZsvOgVgfTM7M/P1oFBgADQ4XqdcRBIs2hHFIdea1Qe7LSVfU=',
      'base64',
    );
    const z = failed(await run(zst.subarray(0, 60), 'cut.jsonl.zst'), 'cut.jsonl.zst');
    assert.match(z.message, /zstd (stream is truncated|data is corrupt)/);
  });

  test('decompression bomb: over the byte limit, and over the ratio limit', async () => {
    const bomb = gzipSync(Buffer.alloc(100 * 1024 * 1024, '\n'));
    const a = failed(await run(bomb, 'bomb.jsonl.gz', { maxDecompressedBytes: 10 * 1024 * 1024 }), 'bomb.jsonl.gz');
    assert.match(a.message, /decompresses to more than 10485760 bytes/);
    const b = failed(await run(bomb, 'bomb2.jsonl.gz', { maxDecompressionRatio: 100 }), 'bomb2.jsonl.gz');
    assert.match(b.message, /expands more than 100× when decompressed/);
  });

  test('zero examples', async () => {
    for (const content of ['', '\n\n   \n']) {
      const e = failed(await run(content, 'empty.jsonl'), 'empty.jsonl');
      assert.match(e.message, /contains no examples/);
    }
    const csv = failed(await run('prompt,completion\n', 'empty.csv'), 'empty.csv');
    assert.match(csv.message, /no data rows/);
  });

  test('CSV with missing columns names the column and lists the header', async () => {
    const csv = 'question,response\nq,a\n';
    const mapped = failed(await run(csv, 'm.csv', { columns: { prompt: 'question', completion: 'answer' } }), 'm.csv');
    assert.equal(mapped.param, 'columns');
    assert.match(mapped.message, /Column "answer" \(mapped to completion\) is not in the CSV header; the header has: "question", "response"/);
    const unmapped = failed(await run(csv, 'u.csv', { format: 'prompt_completion' }), 'u.csv');
    assert.match(unmapped.message, /no column "prompt", "completion" for the prompt_completion format; the header has: "question", "response"/);
  });

  test('a large CSV with a wrong mapping stops at the header (reading stops, nothing is left)', async () => {
    const body = many(60_000, (i) => `question number ${i},answer number ${i}`).join('\n');
    const e = failed(await run(`question,response\n${body}\n`, 'big.csv', { columns: { prompt: 'question', completion: 'answer' } }), 'big.csv');
    assert.match(e.message, /Column "answer" \(mapped to completion\) is not in the CSV header/);
  });

  test('a CSV row with a broken quote names the row', async () => {
    const e = failed(await run('prompt,completion\n"ok",fine\n"open quote,never closed\n', 'q.csv'), 'q.csv');
    assert.match(e.message, /CSV row 2/);
  });

  test('a JSON array instead of JSONL', async () => {
    const e = failed(await run(`[${chat('q', 'a')}]`, 'arr.jsonl'), 'arr.jsonl');
    assert.match(e.message, /looks like a JSON array, not JSONL/);
  });

  test('a cut-off Parquet file', async () => {
    const buf = Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'prompt', data: ['a question'], type: 'STRING' }, { name: 'completion', data: ['an answer'], type: 'STRING' }] }));
    const e = failed(await run(buf.subarray(0, buf.length - 20), 'cut.parquet'), 'cut.parquet');
    assert.match(e.message, /Parquet file cannot be read/);
  });
});

test('training list prices come from the model catalog', () => {
  assert.equal(trainingPrice('lfm2-tiny'), 0);
  assert.equal(trainingPrice('lfm2-1.2b'), 150);
  assert.equal(trainingPrice('gpt-9'), null);
});
