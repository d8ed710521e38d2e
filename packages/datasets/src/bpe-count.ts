/**
 * How many tokens BPE makes of one pre-token, from the model's vocabulary and merges: the pair of
 * adjacent symbols with the lowest merge rank merges first (the leftmost of equal pairs), until
 * no pair has a merge — what the library's priority queue does, without building a node object
 * and a JSON key per candidate pair. Symbols are vocabulary ids, so a pair looks up as one number.
 * Only for plain BPE models (no dropout, no word prefixes or suffixes); the library counts the
 * rest.
 */

interface BpeConfig {
  type?: string;
  vocab?: Record<string, number>;
  merges?: (string | [string, string])[];
  dropout?: number | null;
  continuing_subword_prefix?: string | null;
  end_of_word_suffix?: string | null;
  ignore_merges?: boolean;
}

/** Ids and ranks share one number: value = rank × ID_SPAN + merged id. */
const ID_SPAN = 1 << 21;

export class MergeCounter {
  private syms = new Int32Array(64);

  private constructor(
    private readonly vocab: Map<string, number>,
    /** (left id × ID_SPAN + right id) → rank × ID_SPAN + id of the merged symbol. */
    private readonly merges: Map<number, number>,
    private readonly ignoreMerges: boolean,
  ) {}

  /** The counter for a tokenizer.json `model`, or null when its BPE is not plain. */
  static from(model: BpeConfig | undefined): MergeCounter | null {
    if (!model || model.type !== 'BPE' || !model.vocab || !model.merges) return null;
    if (model.dropout || model.continuing_subword_prefix || model.end_of_word_suffix) return null;
    const vocab = new Map(Object.entries(model.vocab));
    if (vocab.size >= ID_SPAN) return null;
    const merges = new Map<number, number>();
    for (let rank = 0; rank < model.merges.length; rank++) {
      const m = model.merges[rank];
      const [a, b] = typeof m === 'string' ? m.split(' ', 2) : m;
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const merged = vocab.get(a + b);
      // A merge whose parts or result are not tokens is something the library handles its own way.
      if (ia === undefined || ib === undefined || merged === undefined) return null;
      const key = ia * ID_SPAN + ib;
      // A pair listed twice merges at its last rank, as the library's rank map keeps it.
      merges.set(key, rank * ID_SPAN + merged);
    }
    return new MergeCounter(vocab, merges, model.ignore_merges === true);
  }

  /** Tokens of a byte-level mapped pre-token; -1 when a character is not in the vocabulary. */
  count(word: string): number {
    if (this.ignoreMerges && this.vocab.has(word)) return 1;
    if (this.syms.length < word.length) this.syms = new Int32Array(word.length * 2);
    const syms = this.syms;
    let n = 0;
    for (const ch of word) {
      const id = this.vocab.get(ch);
      if (id === undefined) return -1;
      syms[n++] = id;
    }
    const merges = this.merges;
    while (n > 1) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < n; i++) {
        const v = merges.get(syms[i] * ID_SPAN + syms[i + 1]);
        if (v !== undefined && v < best) {
          best = v;
          at = i;
        }
      }
      if (at < 0) break;
      syms[at] = best % ID_SPAN;
      syms.copyWithin(at + 1, at + 2, n);
      n--;
    }
    return n;
  }
}
