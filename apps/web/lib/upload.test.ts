import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gapsOf, missingIn } from './upload';

test('the parts to send are the gaps of what the server has, cut to the part size', () => {
  assert.deepEqual(gapsOf([], 25, 10), [[0, 10], [10, 20], [20, 25]]);
  assert.deepEqual(gapsOf([[0, 10]], 25, 10), [[10, 20], [20, 25]]);
  // Out of order and touching: only the holes go again, never cut across what is there.
  assert.deepEqual(gapsOf([[20, 25], [0, 5]], 25, 10), [[5, 15], [15, 20]]);
  assert.deepEqual(gapsOf([[0, 25]], 25, 10), []);
  assert.deepEqual(gapsOf([[3, 7], [5, 12]], 12, 100), [[0, 3]]);
});

test("what is missing of one part after a failed send: only its own bytes the server lacks", () => {
  assert.deepEqual(missingIn([[0, 10], [14, 16]], 10, 20), [[10, 14], [16, 20]]);
  assert.deepEqual(missingIn([[0, 30]], 10, 20), []);
  assert.deepEqual(missingIn([], 10, 20), [[10, 20]]);
  assert.deepEqual(missingIn([[0, 12]], 10, 20), [[12, 20]], 'a part cut short continues where it stopped');
});
