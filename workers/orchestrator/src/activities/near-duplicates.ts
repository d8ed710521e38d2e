/**
 * Near-duplicate detection for the held-out split. Two examples are near-duplicates when the
 * Jaccard similarity of their prompts' word sets (words and word pairs, lower-cased) is at least
 * NEAR_DUPLICATE_JACCARD: a file built from a few sentence templates scores 100 % on a held-out
 * split that shares its templates and far less on new phrasings, so such an evaluation must say so.
 *
 * The prompt is what a user would send: the user messages of a chat record, or a preference
 * pair's prompt. System prompts and answers are left out (they repeat across every example of a
 * task and would make every pair look alike). Words common to more than half of a sample of the
 * file (a shared instruction) are left out for the same reason.
 *
 * Candidates for a comparison are found with MinHash + LSH (20 bands of 2 rows: a pair at
 * Jaccard 0.5 shares a band with probability 0.997, at 0.6 with 0.99998), then checked exactly on
 * the word sets, so a reported pair is always a true near-duplicate.
 */

export const NEAR_DUPLICATE_JACCARD = 0.5;
/** Only the start of a long prompt is compared: the cost per example stays bounded. */
const MAX_WORDS = 1000;
const BANDS = 20;
const ROWS = 2;
const HASHES = BANDS * ROWS;

/** murmur3's 32-bit finalizer: a bijection with full avalanche. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// The i-th MinHash function is a * x + b over shingle hashes that are already well mixed (odd a).
const MULS = Uint32Array.from({ length: HASHES }, (_, i) => mix32(0x9e3779b9 + i * 0x7f4a7c15) | 1);
const ADDS = Uint32Array.from({ length: HASHES }, (_, i) => mix32(0x7f4a7c15 + i * 0x9e3779b9));

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : '')).join(' ');
  return '';
}

function userText(messages: unknown): string {
  if (typeof messages === 'string') return messages;
  if (!Array.isArray(messages)) return '';
  return messages
    .filter((m) => isObj(m) && m.role === 'user')
    .map((m) => contentText((m as Obj).content))
    .join('\n');
}

/** The prompt of one dataset line (chat record or preference pair); the whole line when it has none. */
export function promptText(line: string): string {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    return line;
  }
  if (!isObj(rec)) return line;
  const text = 'messages' in rec ? userText(rec.messages) : 'prompt' in rec ? userText(rec.prompt) : '';
  return text.trim() === '' ? line : text;
}

/** Hashes of the words and adjacent word pairs of a text (lower-cased letters and digits). */
export function shingles(text: string): Set<number> {
  const out = new Set<number>();
  let prev = -1;
  let words = 0;
  // Word by word, stopping at MAX_WORDS: a long prompt costs no more than its start.
  for (const [w] of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    if (words++ === MAX_WORDS) break;
    const h = mix32(fnv1a(w.toLowerCase()));
    out.add(h);
    if (prev >= 0) out.add(mix32(Math.imul(prev, 31) ^ h ^ 0x5bd1e995));
    prev = h;
  }
  return out;
}

export function jaccard(a: Set<number>, b: Set<number>): number {
  if (a.size === 0 && b.size === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let common = 0;
  for (const x of small) if (large.has(x)) common++;
  return common / (a.size + b.size - common);
}

function minhash(set: Set<number>): Uint32Array {
  const sig = new Uint32Array(HASHES).fill(0xffffffff);
  for (const x of set) {
    for (let i = 0; i < HASHES; i++) {
      const v = (Math.imul(x, MULS[i]) + ADDS[i]) >>> 0;
      if (v < sig[i]) sig[i] = v;
    }
  }
  return sig;
}

function bandKeys(sig: Uint32Array): number[] {
  const keys: number[] = [];
  for (let b = 0; b < BANDS; b++) keys.push(mix32(sig[b * ROWS] ^ mix32(sig[b * ROWS + 1] + b)));
  return keys;
}

/**
 * A fixed set of examples (at most a few thousand: the held-out candidates or the eval split)
 * that other examples are compared with, one at a time as a file streams by.
 */
export class NearDuplicateIndex {
  private readonly sets: Set<number>[] = [];
  private readonly bands: Map<number, number[]>[] = Array.from({ length: BANDS }, () => new Map());

  /** `ignore`: shingles too common in the file to tell examples apart (see `commonShingles`). */
  constructor(private readonly ignore: ReadonlySet<number> = new Set()) {}

  /** The comparable form of a line: its prompt's shingles less the common ones. */
  key(line: string): Set<number> {
    return this.comparable(shingles(promptText(line)));
  }

  /** A prompt's shingles less the common ones (in place). */
  comparable(words: Set<number>): Set<number> {
    for (const x of this.ignore) words.delete(x);
    return words;
  }

  /** Adds an example; returns its index. */
  add(key: Set<number>): number {
    const id = this.sets.length;
    this.sets.push(key);
    const keys = bandKeys(minhash(key));
    for (let b = 0; b < BANDS; b++) {
      const bucket = this.bands[b].get(keys[b]);
      if (bucket) bucket.push(id);
      else this.bands[b].set(keys[b], [id]);
    }
    return id;
  }

  get size(): number {
    return this.sets.length;
  }

  /** Indexes of the added examples that are near-duplicates of `key`. */
  matches(key: Set<number>): number[] {
    const keys = bandKeys(minhash(key));
    const seen = new Set<number>();
    const out: number[] = [];
    for (let b = 0; b < BANDS; b++) {
      for (const id of this.bands[b].get(keys[b]) ?? []) {
        if (seen.has(id)) continue;
        seen.add(id);
        if (jaccard(key, this.sets[id]) >= NEAR_DUPLICATE_JACCARD) out.push(id);
      }
    }
    return out;
  }
}

/** Shingles present in more than half of a sample of a file's prompts: shared instructions. */
export function commonShingles(sample: Set<number>[]): Set<number> {
  const counts = new Map<number, number>();
  for (const s of sample) for (const x of s) counts.set(x, (counts.get(x) ?? 0) + 1);
  const out = new Set<number>();
  if (sample.length < 10) return out; // too few to tell an instruction from chance
  for (const [x, n] of counts) if (n > sample.length / 2) out.add(x);
  return out;
}
