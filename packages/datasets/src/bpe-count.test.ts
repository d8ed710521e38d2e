import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { MergeCounter } from './bpe-count';
import { seededRandom } from '@edgetune/contracts/testing';

type Model = { encode(tokens: string[]): string[] };

/** A byte-level-free BPE model over a few letters, with overlapping and repeated merges. */
function tokenizerJson(merges: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const tokens = new Set(['a', 'b', 'c', 'd']);
  for (const m of merges) tokens.add(m.replace(' ', ''));
  const vocab = Object.fromEntries([...tokens].map((t, i) => [t, i]));
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges, ...extra },
  };
}

test('counts what the library BPE makes of every word over a small alphabet: rank order, leftmost ties, repeated pairs', () => {
  const merges = ['a a', 'b c', 'aa a', 'c d', 'a b', 'ab c', 'aa b', 'bc d', 'd d', 'a a', 'dd a', 'aaa a'];
  for (const extra of [{}, { ignore_merges: true }]) {
    const tj = tokenizerJson(merges, extra);
    const model = (new Tokenizer(tj, {}) as unknown as { model: Model }).model;
    const mc = MergeCounter.from(tj.model as Parameters<typeof MergeCounter.from>[0]);
    assert.ok(mc, 'a plain BPE model gets a merge counter');
    const rnd = seededRandom(3);
    let merged = 0;
    for (let i = 0; i < 5000; i++) {
      const word = Array.from({ length: 1 + rnd(12) }, () => 'abcd'[rnd(4)]).join('');
      const want = model.encode([word]).length;
      assert.equal(mc.count(word), want, `${JSON.stringify(word)} ${JSON.stringify(extra)}`);
      if (want < word.length) merged++;
    }
    assert.ok(merged > 2000, `${merged} words had merges`);
  }
});

test('leaves to the library what it does not model: unknown characters, prefixes, suffixes, dropout', () => {
  const mc = MergeCounter.from(tokenizerJson(['a b']).model as Parameters<typeof MergeCounter.from>[0]);
  assert.equal(mc?.count('abx'), -1, 'x is not in the vocabulary');
  for (const extra of [{ continuing_subword_prefix: '##' }, { end_of_word_suffix: '</w>' }, { dropout: 0.1 }]) {
    assert.equal(MergeCounter.from(tokenizerJson(['a b'], extra).model as Parameters<typeof MergeCounter.from>[0]), null, JSON.stringify(extra));
  }
});
