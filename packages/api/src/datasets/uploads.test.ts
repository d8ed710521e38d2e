import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseContentRange } from './uploads';

test('Content-Range: bytes START-END/TOTAL, END inclusive and below TOTAL', () => {
  assert.deepEqual(parseContentRange('bytes 0-9/100'), { start: 0, end: 9, total: 100 });
  assert.deepEqual(parseContentRange(' BYTES 90-99/100 '), { start: 90, end: 99, total: 100 });
  for (const bad of [null, '', 'bytes 0-9', 'bytes */100', 'bytes 9-3/100', 'bytes 0-100/100', 'bytes -1-5/100', 'items 0-1/2', 'bytes 0-9/1e3']) {
    assert.throws(() => parseContentRange(bad), (e: { param?: string }) => e.param === 'Content-Range', String(bad));
  }
});
