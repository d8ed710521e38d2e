/**
 * Warnings and statistics gathered while records stream by, in bounded memory: duplicate
 * detection keeps 64-bit fingerprints in typed arrays, line lists keep the first few lines and a
 * count, label counts stop at a small number of distinct labels.
 */

import type { TokenSummary } from '@edgetune/contracts';
import { TextKernel } from './text-kernel';

export const WARNING_LINES = 20;
/** Fewer characters than this across all of an example's text makes it "too short". */
export const MIN_EXAMPLE_CHARS = 20;
/** A final answer this short (and on one line) is treated as a label for the imbalance check. */
export const MAX_LABEL_CHARS = 40;
const MAX_LABELS = 64;
/** Labels whose most common value has this many times the examples of the rarest are imbalanced. */
export const IMBALANCE_RATIO = 10;
/** Cap of the duplicate table: 2^22 slots × 12 bytes = 48 MB, ~3.1 M distinct examples. */
const DUP_MAX_SLOTS = 1 << 22;

/**
 * Where the example being analysed ends up and comes from. Read only when a line is listed (at
 * most WARNING_LINES times per list), never per example.
 */
export interface Locator {
  /** 1-based number of the example's record in the stored (normalized) file. */
  readonly storedRecord: number;
  /** CSV: the line of the file where the row starts; 0 where `line` already is a line of the file. */
  readonly fileLine: number;
}

/**
 * First N line numbers plus a total: what a warning shows without growing with the file. With a
 * locator, each listed line also keeps the stored record it became (and, for CSV, its file line).
 */
export class LineList {
  lines: number[] = [];
  records: number[] = [];
  fileLines: number[] = [];
  count = 0;
  constructor(private readonly at: Locator | null = null) {}
  add(line: number): void {
    this.count++;
    if (this.lines.length < WARNING_LINES) {
      this.lines.push(line);
      if (this.at) {
        this.records.push(this.at.storedRecord);
        if (this.at.fileLine > 0) this.fileLines.push(this.at.fileLine);
      }
    }
  }
}

/**
 * Exact and near-duplicate detection. Slots are keyed by the normalized-text hash (near
 * duplicates); each slot also keeps the exact hash of the first example that landed there, so an
 * identical example is told apart from a merely similar one.
 */
export class DuplicateTable {
  private mask: number;
  private h1: Uint32Array;
  private h2: Uint32Array;
  private ex: Uint32Array;
  private used = 0;
  full = false;
  /** Examples not added once the table was full (still checked against it). */
  skipped = 0;

  constructor(
    initialSlots = 1 << 16,
    private readonly maxSlots = DUP_MAX_SLOTS,
  ) {
    this.h1 = new Uint32Array(initialSlots);
    this.h2 = new Uint32Array(initialSlots);
    this.ex = new Uint32Array(initialSlots);
    this.mask = initialSlots - 1;
  }

  /** 0 = new, 1 = exact duplicate, 2 = near duplicate. h1/h2: normalized-text hash; e: exact hash. */
  check(h1: number, h2: number, e: number): 0 | 1 | 2 {
    h1 >>>= 0;
    e >>>= 0;
    h2 = h2 >>> 0 || 1; // 0 marks an empty slot
    let i = h1 & this.mask;
    for (;;) {
      const s = this.h2[i];
      if (s === 0) break;
      if (s === h2 && this.h1[i] === h1) return this.ex[i] === e ? 1 : 2;
      i = (i + 1) & this.mask;
    }
    if ((this.used + 1) * 4 > (this.mask + 1) * 3) {
      if (this.mask + 1 >= this.maxSlots) {
        this.full = true;
        this.skipped++;
        return 0;
      }
      this.grow();
      return this.check(h1, h2, e);
    }
    this.h1[i] = h1;
    this.h2[i] = h2;
    this.ex[i] = e;
    this.used++;
    return 0;
  }

  private grow(): void {
    const { h1, h2, ex } = this;
    const n = (this.mask + 1) * 2;
    this.h1 = new Uint32Array(n);
    this.h2 = new Uint32Array(n);
    this.ex = new Uint32Array(n);
    this.mask = n - 1;
    for (let j = 0; j < h2.length; j++) {
      if (h2[j] === 0) continue;
      let i = h1[j] & this.mask;
      while (this.h2[i] !== 0) i = (i + 1) & this.mask;
      this.h1[i] = h1[j];
      this.h2[i] = h2[j];
      this.ex[i] = ex[j];
    }
  }
}

/**
 * Fingerprints of an example's text for duplicate detection: `n1`/`n2` (64 bits) over the
 * normalized text — ASCII letters lower-cased, every run of whitespace and punctuation one
 * separator, none at either end of a fed text — and `e` over the exact text. Fed text by text
 * (role, content, …) with a mark between them, so no joined string is built; the scanning runs in
 * the WebAssembly kernel, eight characters at a time.
 */
export class ExampleHasher {
  n1 = 0;
  n2 = 0;
  e = 0;
  /**
   * Set by `feed` when the text just fed could hold personal data (an '@', or ten characters in
   * a row of digits and phone punctuation), so the PII regexes only run on such texts.
   */
  piiCandidate = false;
  private readonly out = new Uint32Array(3);

  /** On a token counter's kernel, the texts it counts next are not copied again. */
  constructor(private readonly kernel: TextKernel = new TextKernel()) {}

  reset(): void {
    this.kernel.fingerprintReset();
  }

  /** A boundary between fields (e.g. a role marker): part of both hashes. */
  mark(code: number): void {
    this.kernel.fingerprintMark(code);
  }

  feed(s: string): void {
    this.piiCandidate = this.kernel.fingerprintFeed(this.kernel.load(s), s.length);
  }

  finish(): void {
    this.kernel.fingerprintFinish(this.out);
    this.n1 = this.out[0];
    this.n2 = this.out[1];
    this.e = this.out[2];
  }
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
const DIGIT_RUN = /\+?\(?\d[\d ().-]{7,}\d/g;

function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/**
 * Likely personal data in a text: 1 = email, 2 = phone number, 4 = payment card number (13–19
 * digits passing the Luhn check). Phone numbers: 10–15 digits written the way phone numbers are
 * (a leading +, parentheses, or 3-3-4 groups), so plain ids and amounts are not flagged.
 */
export function scanPii(s: string): number {
  let found = 0;
  if (s.indexOf('@') >= 0 && EMAIL.test(s)) found |= 1;
  DIGIT_RUN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = DIGIT_RUN.exec(s)) && found !== 7) {
    const raw = m[0];
    const digits = raw.replace(/\D/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits) && !/^(\d)\1+$/.test(digits)) found |= 4;
    else if (digits.length >= 10 && digits.length <= 15 && (raw[0] === '+' || raw.includes('(') || /\d{3}[-. ]\d{3}[-. ]\d{4}/.test(raw))) found |= 2;
  }
  return found;
}

/** Final answers that look like class labels, counted while they stay few. */
export class LabelCounter {
  private counts = new Map<string, { count: number; lines: LineList }>();
  short = 0;
  total = 0;
  overflow = false;

  constructor(private readonly at: Locator | null = null) {}

  add(answer: string, line: number): void {
    this.total++;
    const label = answer.trim();
    if (label.length === 0 || label.length > MAX_LABEL_CHARS || label.includes('\n')) return;
    this.short++;
    if (this.overflow) return;
    // "Billing", "billing." and "billing" are one label.
    const key = label.toLowerCase().replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, '') || label;
    let c = this.counts.get(key);
    if (!c) {
      if (this.counts.size >= MAX_LABELS) {
        this.overflow = true;
        this.counts.clear();
        return;
      }
      c = { count: 0, lines: new LineList(this.at) };
      this.counts.set(key, c);
    }
    c.count++;
    c.lines.add(line);
  }

  /** A final answer longer than any label (it only counts towards the total). */
  addLong(): void {
    this.total++;
  }

  /** The label distribution when the final answers form a label set (≥ 95 % short, 2–64 values), else null. */
  distribution(): { label: string; count: number; lines: number[]; records: number[]; fileLines: number[] }[] | null {
    if (this.overflow || this.total < 10 || this.short < this.total * 0.95 || this.counts.size < 2) return null;
    return [...this.counts]
      .map(([label, c]) => ({ label, count: c.count, lines: c.lines.lines, records: c.lines.records, fileLines: c.lines.fileLines }))
      .sort((a, b) => b.count - a.count);
  }
}

/** Exact counts of small values (tokens per example), for percentiles and the histogram. */
export class TokenStats {
  private static readonly CAP = 1 << 17;
  private counts = new Uint32Array(TokenStats.CAP + 1);
  n = 0;
  total = 0;
  max = 0;

  add(tokens: number): void {
    this.n++;
    this.total += tokens;
    if (tokens > this.max) this.max = tokens;
    this.counts[Math.min(tokens, TokenStats.CAP)]++;
  }

  private percentile(p: number): number {
    const target = Math.max(1, Math.ceil(this.n * p));
    let seen = 0;
    for (let v = 0; v < this.counts.length; v++) {
      seen += this.counts[v];
      if (seen >= target) return v === TokenStats.CAP ? this.max : v;
    }
    return this.max;
  }

  /** Power-of-two buckets from 0 up to the longest example: [0,16), [16,32), [32,64), … */
  histogram(): { lo: number; hi: number; count: number }[] {
    const out: { lo: number; hi: number; count: number }[] = [];
    let lo = 0;
    let hi = 16;
    while (lo <= this.max) {
      let count = 0;
      for (let v = lo; v < Math.min(hi, TokenStats.CAP + 1); v++) count += this.counts[v];
      if (hi > TokenStats.CAP) count += 0; // values above CAP are all counted at CAP
      out.push({ lo, hi, count });
      lo = hi;
      hi *= 2;
    }
    return out;
  }

  summary(): TokenSummary {
    return {
      total: this.total,
      mean: this.n ? Math.round((this.total / this.n) * 10) / 10 : 0,
      p50: this.n ? this.percentile(0.5) : 0,
      p95: this.n ? this.percentile(0.95) : 0,
      max: this.max,
      histogram: this.histogram(),
    };
  }
}
