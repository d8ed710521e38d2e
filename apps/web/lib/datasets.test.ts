import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { columnsFromError, containerOf, csvHeader, guessFormat, guessMapping, parseCsvLine, readReport } from './datasets';
import { readParquetColumns } from './parquet-columns';

test('csvHeader: quoted names, doubled quotes, BOM, CRLF and a header spanning lines', () => {
  assert.deepEqual(csvHeader('\uFEFFquestion,"an ""answer""",x\r\n1,2,3\r\n'), ['question', 'an "answer"', 'x']);
  assert.deepEqual(csvHeader('"multi\nline",b\n1,2'), ['multi\nline', 'b']);
  assert.deepEqual(csvHeader('a\tb\n', '\t'), ['a', 'b']);
  assert.deepEqual(parseCsvLine('1,"a,b",3'), ['1', 'a,b', '3']);
});

test('guessFormat and guessMapping pick the fields from column names, case-insensitively', () => {
  assert.equal(guessFormat(['prompt', 'chosen', 'rejected']), 'preference');
  assert.equal(guessFormat(['Messages']), 'chat');
  assert.equal(guessFormat(['q', 'a']), 'prompt_completion');
  assert.deepEqual(guessMapping('prompt_completion', ['Question', 'answer', 'id']), { prompt: 'Question', completion: 'answer' });
  assert.deepEqual(guessMapping('prompt_completion', ['q', 'a']), {});
  assert.deepEqual(guessMapping('preference', ['instruction', 'chosen', 'rejected']), { prompt: 'instruction', chosen: 'chosen', rejected: 'rejected' });
});

test('containerOf ignores a compression suffix', () => {
  assert.equal(containerOf('a.CSV.gz'), 'csv');
  assert.equal(containerOf('a.parquet'), 'parquet');
  assert.equal(containerOf('a.jsonl.zst'), 'jsonl');
});

test('columnsFromError reads the header a refused upload lists, quotes and all', () => {
  const message =
    'Invalid file format. The CSV file has no column "completion" for the prompt_completion format; the header has: "question", "an \\"answer\\"", "x.y". Choose a column mapping, e.g. {"completion": "<column>"}.';
  assert.deepEqual(columnsFromError({ message }), ['question', 'an "answer"', 'x.y']);
  assert.deepEqual(columnsFromError({ message: 'x', details: [{ message: 'Column "z" (mapped to prompt) is not in the Parquet header; the header has: "a", "b".' }] }), ['a', 'b']);
  assert.deepEqual(columnsFromError({ message: 'Line 2: invalid JSON.' }), []);
});

test('readReport reads what is there and tolerates what is not', () => {
  const r = readReport({
    format: 'chat',
    examples: 3,
    warnings: [{ code: 'duplicates', message: '1 example repeats', lines: [3], count: 1 }, { nonsense: true }],
    stats: {
      messages: 9,
      roles: { tool: 1, user: 3, system: 3, assistant: 4 },
      labels: [
        { label: 'b', count: 1 },
        { label: 'a', count: 2 },
      ],
      tokens: { total: 30, mean: 10, p50: 10, p95: 12, max: 12, histogram: [{ lo: 0, hi: 16, count: 3 }] },
      tokenizer: { baseModel: 'lfm2-tiny', available: true },
    },
  });
  assert.equal(r.examples, 3);
  assert.deepEqual(r.warnings, [{ code: 'duplicates', message: '1 example repeats', lines: [3], count: 1 }]);
  assert.deepEqual(r.roles, [
    ['system', 3],
    ['user', 3],
    ['assistant', 4],
    ['tool', 1],
  ]);
  assert.deepEqual(r.labels, [
    ['a', 2],
    ['b', 1],
  ]);
  assert.equal(r.tokens?.total, 30);
  assert.deepEqual(r.totals, [['messages', 9]]);
  const empty = readReport(null);
  assert.equal(empty.tokens, null);
  assert.deepEqual(empty.warnings, []);
  assert.equal(readReport({ stats: { tokens: null, tokenizer: { available: false, reason: 'not staged' } } }).tokenizer?.reason, 'not staged');
});

test('readParquetColumns reads the top-level columns from the footer alone', async () => {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'question', data: ['a', 'b'], type: 'STRING' },
      { name: 'answer', data: ['c', 'd'], type: 'STRING' },
      { name: 'n', data: [1, 2], type: 'INT32' },
    ],
  });
  assert.deepEqual(await readParquetColumns(new Blob([buf])), ['question', 'answer', 'n']);
  await assert.rejects(readParquetColumns(new Blob(['{"not":"parquet"}\n'])), /Not a Parquet file/);
});
