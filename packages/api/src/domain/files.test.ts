import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatJsonlValidator } from './files';
import { parseRange } from './models';

const good = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });

test('validator counts examples across arbitrary chunk boundaries and skips blank lines', () => {
  const v = new ChatJsonlValidator();
  const text = `${good}\r\n\n${good}\n${good}`;
  for (const ch of Buffer.from(text)) v.write(new Uint8Array([ch]));
  v.end();
  assert.equal(v.errorCount, 0);
  assert.equal(v.examples, 3);
  assert.equal(v.stats().assistant_messages, 3);
});

test('validator names the bad lines and caps the reported errors at 20', () => {
  const v = new ChatJsonlValidator();
  const lines = [good, '{not json', good, ...Array.from({ length: 30 }, () => '{"messages": []}')];
  v.write(lines.join('\n'));
  v.end();
  assert.equal(v.errors[0].line, 2);
  assert.match(v.errors[0].message, /Line 2/);
  assert.equal(v.errors.length, 20);
  assert.equal(v.errorCount, 31);
});

test('multi-byte characters split across chunks decode correctly', () => {
  const v = new ChatJsonlValidator();
  const line = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'héllo 日本' }, { role: 'assistant', content: 'ok' }] }) + '\n');
  for (let i = 0; i < line.length; i++) v.write(line.subarray(i, i + 1));
  v.end();
  assert.equal(v.errorCount, 0);
  assert.equal(v.examples, 1);
});

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
