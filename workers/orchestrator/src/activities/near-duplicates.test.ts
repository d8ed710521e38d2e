import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonShingles, jaccard, NEAR_DUPLICATE_JACCARD, NearDuplicateIndex, promptText, shingles } from './near-duplicates';

const chat = (user: string, system = 'Route the ticket.', answer = 'billing') =>
  JSON.stringify({ messages: [{ role: 'system', content: system }, { role: 'user', content: user }, { role: 'assistant', content: answer }] });

test('the prompt is the user side: system prompts and answers are left out', () => {
  assert.equal(promptText(chat('my card was charged twice')), 'my card was charged twice');
  assert.equal(promptText(JSON.stringify({ prompt: 'parcel lost', chosen: 'shipping', rejected: 'refund' })), 'parcel lost');
  assert.equal(
    promptText(JSON.stringify({ prompt: [{ role: 'system', content: 'S' }, { role: 'user', content: 'locked out' }], chosen: 'login', rejected: 'billing' })),
    'locked out',
  );
  assert.equal(promptText(JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi there' }] }] })), 'hi there');
  assert.equal(promptText('not json'), 'not json', 'no prompt: the whole line is compared');
});

test('one changed slot word in a template is a near-duplicate; a different sentence is not', () => {
  const a = shingles('Please turn on the kitchen lights in the evening');
  const b = shingles('please turn on the BEDROOM lights in the evening!');
  const c = shingles('my parcel never arrived and the courier is not answering');
  assert.ok(jaccard(a, b) >= NEAR_DUPLICATE_JACCARD, `template: ${jaccard(a, b)}`);
  assert.ok(jaccard(a, c) < 0.1);
  assert.equal(jaccard(shingles('q12'), shingles('q13')), 0, 'numbers are words: q12 and q13 differ');

  const index = new NearDuplicateIndex();
  const ids = ['Please turn on the kitchen lights in the evening', 'my parcel never arrived and the courier is not answering', 'reset my password'].map((t) =>
    index.add(index.key(chat(t))),
  );
  assert.deepEqual(index.matches(index.key(chat('please turn on the garage lights in the evening', 'Other system prompt', 'other answer'))), [ids[0]]);
  assert.deepEqual(index.matches(index.key(chat('reset my password'))), [ids[2]], 'an exact duplicate');
  assert.deepEqual(index.matches(index.key(chat('what is the weather in Paris tomorrow'))), []);
});

test('words shared by most prompts (an instruction) are ignored; a sample under 10 decides nothing', () => {
  const prompts = Array.from({ length: 40 }, (_, i) => shingles(`Summarize this email in one sentence: topic${i} detail${i * 7} person${i * 13}`));
  const common = commonShingles(prompts);
  assert.ok(common.has(shingles('summarize').values().next().value!));
  assert.ok(!common.has(shingles('topic3').values().next().value!));
  assert.equal(commonShingles(prompts.slice(0, 9)).size, 0);
  const index = new NearDuplicateIndex(common);
  const a = index.key(chat('Summarize this email in one sentence: topic1 detail7 person13'));
  const b = index.key(chat('Summarize this email in one sentence: topic2 detail14 person26'));
  assert.ok(jaccard(a, b) < NEAR_DUPLICATE_JACCARD, 'only the varying part is compared');
});

test('only the first 1000 words of a prompt are compared', () => {
  const head = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' ');
  assert.deepEqual(shingles(`${head} tail words here`), shingles(head));
  assert.notDeepEqual(shingles(`${head.split(' ').slice(1).join(' ')} tail`), shingles(head));
});
