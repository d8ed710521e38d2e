import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkChatRecord, checkPreferenceRecord, checkPromptCompletionRecord, detectRecordFormat, validateChatLine } from './datasets';
import type { ErrorDetail } from './errors';

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

test('tool calls, tool messages and weights', () => {
  const ok = {
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"temp":21}' },
      { role: 'assistant', content: '21 degrees', weight: 1 },
    ],
    tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
  };
  assert.deepEqual(validateChatLine(JSON.stringify(ok), 1).errors, []);
  const errs = (rec: unknown): string[] => {
    const out: ErrorDetail[] = [];
    checkChatRecord(rec, 4, out);
    return out.map((e) => `${e.field}: ${e.message}`);
  };
  const undeclared = structuredClone(ok);
  undeclared.tools[0].function.name = 'other';
  assert.match(errs(undeclared)[0], /^messages\[1\]\.tool_calls\[0\]\.function\.name: Line 4: .* "weather" is not declared in "tools"/);
  const userCalls = { messages: [{ role: 'user', content: 'x', tool_calls: [] }, { role: 'assistant', content: 'y' }] };
  assert.match(errs(userCalls)[0], /tool_calls is only allowed on assistant messages/);
  const weightOnUser = { messages: [{ role: 'user', content: 'x', weight: 0 }, { role: 'assistant', content: 'y' }] };
  assert.match(errs(weightOnUser)[0], /weight is only allowed on assistant messages/);
  const allZero = { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y', weight: 0 }] };
  assert.match(errs(allZero)[0], /every assistant message has weight 0/);
  const orphan = { messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'z', content: 'r' }, { role: 'assistant', content: 'y' }] };
  assert.match(errs(orphan)[0], /tool_call_id "z" does not match any earlier assistant tool call/);
});

test('prompt/completion and preference records', () => {
  const pc = (rec: unknown): ErrorDetail[] => {
    const out: ErrorDetail[] = [];
    checkPromptCompletionRecord(rec, 2, out, 'Row');
    return out;
  };
  assert.deepEqual(pc({ prompt: 'q', completion: 'a' }), []);
  assert.deepEqual(pc({ prompt: 'q' }).map((e) => [e.field, e.message]), [['completion', 'Row 2: missing "completion".']]);
  assert.equal(pc({ prompt: 1, completion: ' ' }).length, 2);
  const pref = (rec: unknown): ErrorDetail[] => {
    const out: ErrorDetail[] = [];
    checkPreferenceRecord(rec, 3, out);
    return out;
  };
  assert.deepEqual(pref({ prompt: 'q', chosen: 'good', rejected: 'bad' }), []);
  assert.deepEqual(pref({ prompt: [{ role: 'user', content: 'q' }], chosen: [{ role: 'assistant', content: 'good' }], rejected: [{ role: 'assistant', content: 'bad' }] }), []);
  assert.match(pref({ prompt: 'q', chosen: 'same', rejected: 'same' })[0].message, /identical/);
  assert.equal(pref({ prompt: 'q', chosen: [{ role: 'user', content: 'x' }], rejected: 'bad' })[0].field, 'chosen[0].role');
  assert.equal(detectRecordFormat({ prompt: 'q', chosen: 'a', rejected: 'b' }), 'preference');
  assert.equal(detectRecordFormat({ prompt: 'q', completion: 'a' }), 'prompt_completion');
  assert.equal(detectRecordFormat({ messages: [] }), 'chat');
  assert.equal(detectRecordFormat({ text: 'x' }), null);
});
