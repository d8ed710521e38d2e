import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, normalizeAnswer, parseEvalJsonl } from './evalset';

test('exact match is trim + casefold', () => {
  assert.equal(normalizeAnswer('  Billing\n'), 'billing');
  assert.equal(normalizeAnswer('STRASSE'), normalizeAnswer('straße'));
  assert.notEqual(normalizeAnswer('billing.'), normalizeAnswer('billing'));
});

test('eval JSONL: prompt is every message but the final assistant turn', () => {
  const line = JSON.stringify({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] });
  const [ex] = parseEvalJsonl(`${line}\n\n`);
  assert.deepEqual(ex!.prompt.map((m) => m.role), ['system', 'user']);
  assert.equal(ex!.reference, 'a');
  assert.throws(() => parseEvalJsonl('{"messages":[{"role":"user","content":"x"}]}'), /line 1/);
  assert.throws(() => parseEvalJsonl('nope'), /line 1: not JSON/);
});

test('median', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});
