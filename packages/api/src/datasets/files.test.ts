import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainError } from '@edgetune/contracts';
import { checkFields, datasetNameFromFilename } from './files';
import { parseRange } from '../models/models';

test('parseRange', () => {
  assert.deepEqual(parseRange(null, 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=50-500', 100), { kind: 'partial', start: 50, end: 99 });
  assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=9-3', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('items=0-1', 100), { kind: 'unsatisfiable' });
});

test('an upload without a dataset name goes to the dataset named after the file', () => {
  assert.equal(datasetNameFromFilename('support-chats.jsonl.gz'), 'support-chats');
  assert.equal(datasetNameFromFilename('Q3 export.CSV.zst'), 'Q3 export');
  assert.equal(datasetNameFromFilename('data.v2.parquet'), 'data.v2');
  assert.equal(datasetNameFromFilename('.jsonl'), '.jsonl');
  assert.equal(datasetNameFromFilename('notes'), 'notes');
});

test('upload options are checked before any byte is stored, each naming its field', () => {
  assert.deepEqual(checkFields({ purpose: 'fine-tune', dataset: '  Support  ', format: 'auto', columns: '{"prompt":"q","completion":"a"}' }, true), {
    purpose: 'fine-tune',
    dataset: 'Support',
    format: 'auto',
    columns: { prompt: 'q', completion: 'a' },
    baseModel: undefined,
  });
  // The purpose may arrive after the file (multipart order): only the final check requires it.
  assert.equal(checkFields({}, false).purpose, null);
  const param = (f: Parameters<typeof checkFields>[0], final = true) => {
    try {
      checkFields(f, final);
    } catch (e) {
      return (e as DomainError).param;
    }
    return 'accepted';
  };
  assert.equal(param({}), 'purpose');
  assert.equal(param({ purpose: 'batch' }), 'purpose');
  assert.equal(param({ purpose: 'fine-tune', format: 'alpaca' }), 'format');
  assert.equal(param({ purpose: 'fine-tune', dataset: 'x'.repeat(101) }), 'dataset');
  assert.equal(param({ purpose: 'fine-tune', dataset: 'a\u0001b' }), 'dataset');
  assert.equal(param({ purpose: 'fine-tune', columns: '{oops' }), 'columns');
  assert.equal(param({ purpose: 'fine-tune', columns: '["a"]' }), 'columns');
  assert.equal(param({ purpose: 'fine-tune', columns: { prompt: '' } }), 'columns.prompt');
  assert.equal(param({ purpose: 'fine-tune', columns: { prompt: 'q' }, format: 'preference' }), 'accepted');
});
