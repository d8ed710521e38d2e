import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeRange, parseContentRange } from './uploads';

test('Content-Range: bytes START-END/TOTAL, END inclusive and below TOTAL', () => {
  assert.deepEqual(parseContentRange('bytes 0-9/100'), { start: 0, end: 9, total: 100 });
  assert.deepEqual(parseContentRange(' BYTES 90-99/100 '), { start: 90, end: 99, total: 100 });
  for (const bad of [null, '', 'bytes 0-9', 'bytes */100', 'bytes 9-3/100', 'bytes 0-100/100', 'bytes -1-5/100', 'items 0-1/2', 'bytes 0-9/1e3']) {
    assert.throws(() => parseContentRange(bad), (e: { param?: string }) => e.param === 'Content-Range', String(bad));
  }
});

test('received ranges are kept sorted, and touching or overlapping ranges merge', () => {
  assert.deepEqual(mergeRange([], [5, 10]), [[5, 10]]);
  assert.deepEqual(mergeRange([[5, 10]], [0, 5]), [[0, 10]]);
  assert.deepEqual(mergeRange([[0, 5]], [7, 9]), [[0, 5], [7, 9]]);
  assert.deepEqual(mergeRange([[0, 5], [7, 9]], [5, 7]), [[0, 9]]);
  assert.deepEqual(mergeRange([[0, 2], [4, 6], [8, 10]], [3, 5]), [[0, 2], [3, 6], [8, 10]]);
  assert.deepEqual(mergeRange([[4, 6]], [0, 1]), [[0, 1], [4, 6]]);
  assert.deepEqual(mergeRange([[0, 4]], [2, 2]), [[0, 4]], 'an empty range adds nothing');
});
