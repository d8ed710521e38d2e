import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { datasetReportSchema, type DatasetReport } from '@edgetune/contracts';
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

/** A stored report with the given fields (the others as small as the schema allows). */
const stored = (over: Partial<DatasetReport>): DatasetReport => ({
  format: 'chat',
  examples: 1,
  warnings: [],
  ...over,
  stats: { lines: 1, characters: 20, tokens: null, tokenizer: { baseModel: 'lfm2-tiny', available: false }, ...over.stats },
});

test('readReport reads what is there and tolerates what is not', () => {
  // What does not match the report's schema never reaches the page: it is refused where the api reads it.
  assert.equal(datasetReportSchema.safeParse(stored({ warnings: [{ nonsense: true } as never] })).success, false);
  const r = readReport({
    format: 'chat',
    examples: 3,
    warnings: [{ code: 'duplicates', message: '1 example repeats', lines: [3], count: 1 }],
    stats: {
      lines: 3,
      messages: 9,
      characters: 120,
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
  assert.deepEqual(r.warnings, [{ code: 'duplicates', message: '1 example repeats', count: 1, links: [{ at: 3, record: 3, fileLine: null }] }]);
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
  assert.deepEqual(r.totals, [
    ['lines', 3],
    ['messages', 9],
    ['characters', 120],
  ]);
  const empty = readReport(null);
  assert.equal(empty.tokens, null);
  assert.deepEqual(empty.warnings, []);
  assert.equal(readReport(stored({ stats: { lines: 1, characters: 20, tokens: null, tokenizer: { baseModel: 'lfm2-tiny', available: false, reason: 'not staged' } } })).tokenizer?.reason, 'not staged');
});

test('readReport: warning links open the stored record the validator recorded, and say how numbers count', () => {
  // JSONL with blank lines: line 7 of the upload is record 3 of the stored file.
  const jsonl = readReport(stored({ unit: 'line', warnings: [{ code: 'duplicates', message: 'm', lines: [7, 12], records: [3, 6], count: 2 }] }));
  assert.equal(jsonl.unit, 'line');
  assert.equal(jsonl.approximateLinks, false);
  assert.deepEqual(jsonl.warnings[0].links, [
    { at: 7, record: 3, fileLine: null },
    { at: 12, record: 6, fileLine: null },
  ]);
  // CSV: row 4 starts on line 9 of the file.
  const csv = readReport(stored({ unit: 'row', warnings: [{ code: 'duplicates', message: 'm', lines: [4], records: [4], fileLines: [9], count: 1 }] }));
  assert.deepEqual([csv.unit, csv.warnings[0].links], ['row', [{ at: 4, record: 4, fileLine: 9 }]]);
  // Older reports: no unit (the container tells), no records. Rows are still exact; JSONL lines are flagged.
  const oldCsv = readReport(stored({ warnings: [{ code: 'too_short', message: 'm', lines: [2], count: 1 }] }), 'csv');
  assert.deepEqual([oldCsv.unit, oldCsv.approximateLinks, oldCsv.warnings[0].links], ['row', false, [{ at: 2, record: 2, fileLine: null }]]);
  const oldJsonl = readReport(stored({ warnings: [{ code: 'too_short', message: 'm', lines: [2], count: 1 }] }), 'jsonl');
  assert.deepEqual([oldJsonl.unit, oldJsonl.approximateLinks], ['line', true]);
  // Records that do not match the lines one to one are not trusted.
  const broken = readReport(stored({ unit: 'line', warnings: [{ code: 'd', message: 'm', lines: [5, 6], records: [1], count: 2 }] }));
  assert.deepEqual([broken.approximateLinks, broken.warnings[0].links.map((l) => l.record)], [true, [5, 6]]);
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
