import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateChatLine } from './datasets';

test('accepts a chat record ending with the assistant', () => {
  const r = validateChatLine(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }), 3);
  assert.deepEqual(r.errors, []);
  assert.equal(r.record?.messages.length, 2);
});

test('names the line and the reason', () => {
  const cases: [string, RegExp][] = [
    ['{"messages": [', /Line 7: invalid JSON/],
    ['[1,2]', /Line 7: expected a JSON object/],
    ['{"prompt":"x"}', /Line 7: missing "messages"/],
    ['{"messages":[{"role":"robot","content":"x"},{"role":"assistant","content":"y"}]}', /messages\[0\]\.role must be one of/],
    ['{"messages":[{"role":"user","content":"  "},{"role":"assistant","content":"y"}]}', /messages\[0\]\.content is empty/],
    ['{"messages":[{"role":"user","content":"x"}]}', /no assistant message/],
    ['{"messages":[{"role":"assistant","content":"x"},{"role":"user","content":"y"}]}', /last message must be from the assistant/],
  ];
  for (const [line, re] of cases) {
    const r = validateChatLine(line, 7);
    assert.equal(r.record, null, line);
    assert.match(r.errors[0].message, re, line);
    assert.equal(r.errors[0].line, 7);
  }
});
