import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetReport } from '@edgetune/contracts';
import { files } from './files';

const report: DatasetReport = {
  format: 'chat',
  examples: 2,
  unit: 'line',
  warnings: [{ code: 'duplicates', message: '1 example repeats an earlier example exactly.', lines: [2], count: 1, records: [2] }],
  stats: { lines: 2, messages: 4, characters: 80, tokens: null, tokenizer: { baseModel: 'lfm2-tiny', available: false, reason: 'not staged' } },
};

test("the files table's stored shapes are parsed by their contracts schemas where a row is read", () => {
  assert.deepEqual(files.report.mapFromDriverValue(report), report);
  // node-postgres hands jsonb over parsed; a text value (another driver) is parsed first.
  assert.deepEqual(files.report.mapFromDriverValue(JSON.stringify(report)), report);
  assert.equal(files.report.mapToDriverValue(report), JSON.stringify(report));
  assert.throws(() => files.report.mapFromDriverValue({ ...report, examples: 'two' }), /Stored report does not match its schema: examples: /);
  assert.throws(() => files.report.mapFromDriverValue({ ...report, warnings: [{ nonsense: true }] }), /Stored report does not match its schema: warnings\.0\.code: /);
  assert.throws(() => files.source.mapFromDriverValue({ filename: 'a.csv', container: 'xlsx', compression: 'none', uploadedBytes: 1, normalizedBytes: 1 }), /Stored source does not match its schema: container: /);
  // Versions stored before validation reports keep the numbers they have.
  assert.deepEqual(files.stats.mapFromDriverValue({ examples: 3, max_line_bytes: 120 }), { examples: 3, max_line_bytes: 120 });
  assert.throws(() => files.stats.mapFromDriverValue({ examples: '3' }), /Stored stats does not match its schema/);
});
