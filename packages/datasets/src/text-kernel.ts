import { TEXT_KERNEL_WASM } from './text-kernel-wasm';

/**
 * The WebAssembly kernel (text-kernel.wat) that does validation's per-character work: duplicate
 * fingerprints of examples and the chunk cut and table lookups of token counting. A text is
 * copied in as UTF-16 code units (node's native string write, ~0.4 ns per character), then
 * scanned eight units at a time. Loaded texts stay in until their area is full, remembered by
 * length, so a message fingerprinted and then counted on one kernel is copied once. Each
 * instance has its own memory: its texts and, when it counts tokens, its chunk table. Calls are
 * synchronous and never interleave.
 */

interface Exports {
  memory: WebAssembly.Memory;
  reserve(units: number): number;
  missList(): number;
  chunkList(): number;
  fpReset(): void;
  fpMark(code: number): void;
  fpFeed(text: number, len: number): number;
  fpFinish(): number;
  tableInit(startSlots: number, maxSlots: number): void;
  tableSlots(): number;
  count(text: number, len: number, chunkMax: number): number;
  remember(miss: number, count: number): void;
  chat(line: number, len: number, out: number, lead: number): number;
}

/** Where count() reports its misses and chunks (see text-kernel.wat). */
const RESULT = 0x1000;
/** Where chat() describes the line it parsed: 32 bytes per message from CHAT + 64. */
const CHAT = 0x3000;
/** Most messages chat() takes in one line. */
const CHAT_MAX = 64;
/** Largest chunk table the kernel's memory layout holds (2 MB of 8-byte slots). */
const MAX_TABLE_SLOTS = 1 << 18;
/** Loaded texts remembered, by length modulo this (a power of two). */
const REMEMBERED = 64;
/** Code units between texts: each call writes just before its text and 32 bytes after it. */
const GAP = 16;

let compiled: WebAssembly.Module | null = null;

export class TextKernel {
  private readonly x: Exports;
  private bytes!: Buffer;
  private ints!: Int32Array;
  private textAt = 0;
  /** Code units the text area holds, and those taken since it was last emptied. */
  private capacity = 0;
  private used = 0;
  private missAt = 0;
  private loaded: (string | null)[] = new Array<string | null>(REMEMBERED).fill(null);
  private loadedAt = new Int32Array(REMEMBERED);

  constructor() {
    compiled ??= new WebAssembly.Module(Buffer.from(TEXT_KERNEL_WASM, 'base64'));
    this.x = new WebAssembly.Instance(compiled, {}).exports as unknown as Exports;
    this.reserve(1 << 16);
  }

  private reserve(units: number): void {
    const at = this.x.reserve(units);
    if (at < 0) throw new Error(`text of ${units} characters does not fit the validation kernel's memory`);
    this.textAt = at;
    this.capacity = units;
    this.missAt = this.x.missList() >> 2;
    // Growing the memory detaches the old views.
    this.bytes = Buffer.from(this.x.memory.buffer);
    this.ints = new Int32Array(this.x.memory.buffer);
  }

  /**
   * Where `s` is in the kernel's memory (pass it with s.length to the scans): copied in, unless
   * the text last loaded with its length is this same text and still there.
   */
  load(s: string): number {
    const len = s.length;
    const k = len & (REMEMBERED - 1);
    if (this.loaded[k] === s) return this.loadedAt[k];
    const at = this.take(len);
    this.bytes.write(s, at, 'utf16le');
    this.loaded[k] = s;
    this.loadedAt[k] = at;
    return at;
  }

  /**
   * Parses a chat JSONL line (`buf[start, end)`, valid UTF-8) of the common shape — only
   * "messages", each with a system/user/assistant role, a non-blank string content and an
   * optional weight 0/1, ending with a learnable assistant turn — and fingerprints it as
   * ExampleHasher would (read with fingerprintFinish). Returns its number of messages, described
   * by chatCode…chatLast, or 0 when the line is anything else (JSON.parse and the full checks
   * must judge it). `lead`: a unit whose presence in a content is flagged (-1: none).
   */
  parseChat(buf: Buffer, start: number, end: number, lead: number): number {
    const len = end - start;
    // The line's bytes, then its contents as UTF-16, 32 bytes apart.
    const line = this.take((len >> 1) + len + CHAT_MAX * 24 + 64);
    buf.copy(this.bytes, line, start, end);
    return this.x.chat(line, len, (line + len + 47) & ~15, lead);
  }

  /**
   * The address of room for `units` code units in the text area, after what was taken last;
   * from the start again (forgetting the loaded texts) when the area is full, grown if too small.
   */
  private take(units: number): number {
    let off = this.used + GAP;
    if (off + units + GAP > this.capacity) {
      if (units + 2 * GAP > this.capacity) this.reserve(Math.max(units + 2 * GAP, this.capacity * 2));
      this.loaded.fill(null);
      off = GAP;
    }
    this.used = (off + units + 7) & ~7;
    return this.textAt + off * 2;
  }

  /** Message i of the parsed line: role code (system 1, user 2, assistant 3), +8 with weight 0. */
  chatCode(i: number): number {
    return this.ints[(CHAT + 64 + 32 * i) >> 2];
  }

  /** Where message i's content is (for countChunks, text). */
  chatAt(i: number): number {
    return this.ints[(CHAT + 68 + 32 * i) >> 2];
  }

  /** Message i's content length in UTF-16 units. */
  chatLength(i: number): number {
    return this.ints[(CHAT + 72 + 32 * i) >> 2];
  }

  /** Message i: bit 0 its content may hold personal data, bit 1 it holds the `lead` unit. */
  chatFlags(i: number): number {
    return this.ints[(CHAT + 76 + 32 * i) >> 2];
  }

  /** The first and last unit of message i's content. */
  chatFirst(i: number): number {
    return this.ints[(CHAT + 80 + 32 * i) >> 2];
  }

  chatLast(i: number): number {
    return this.ints[(CHAT + 84 + 32 * i) >> 2];
  }

  /** The parsed line's contents' length in units, all together. */
  get chatCharacters(): number {
    return this.ints[(CHAT + 4) >> 2];
  }

  /** The text of `len` units at `at` in the kernel's memory, as a string. */
  text(at: number, len: number): string {
    return this.bytes.toString('utf16le', at, at + 2 * len);
  }

  // ---- fingerprints of one example: reset, then per text a mark and a feed, then finish

  fingerprintReset(): void {
    this.x.fpReset();
  }

  fingerprintMark(code: number): void {
    this.x.fpMark(code);
  }

  /** Feeds a loaded text (`at` from load); true when it may hold personal data. */
  fingerprintFeed(at: number, len: number): boolean {
    return this.x.fpFeed(at, len) !== 0;
  }

  /** [normalized low, normalized high, exact] as unsigned 32-bit numbers. */
  fingerprintFinish(out: Uint32Array): void {
    const at = this.x.fpFinish() >> 2;
    const i = this.ints;
    out[0] = i[at];
    out[1] = i[at + 1];
    out[2] = i[at + 2] ^ i[at + 3];
  }

  // ---- token counts by chunks

  /** Sets up an empty chunk table of `startSlots` slots that doubles up to `maxSlots`. */
  initTable(startSlots: number, maxSlots: number): void {
    if (maxSlots > MAX_TABLE_SLOTS || startSlots > maxSlots || (startSlots & (startSlots - 1)) !== 0 || (maxSlots & (maxSlots - 1)) !== 0) {
      throw new Error(`chunk table slots must be powers of two, ${startSlots} ≤ ${maxSlots} ≤ ${MAX_TABLE_SLOTS}`);
    }
    this.x.tableInit(startSlots, maxSlots);
  }

  get tableSlots(): number {
    return this.x.tableSlots();
  }

  /**
   * Cuts a loaded text (`at` from load) before every space that follows a non-space and returns
   * the tokens of the chunks the table knows; the others are then `misses` (missStart/missEnd are
   * offsets in the text, see remember).
   */
  countChunks(at: number, len: number, chunkMax: number): number {
    return this.x.count(at, len, chunkMax);
  }

  get misses(): number {
    return this.ints[(RESULT + 16) >> 2];
  }

  missStart(k: number): number {
    return this.ints[this.missAt + k * 4];
  }

  missEnd(k: number): number {
    return this.ints[this.missAt + k * 4 + 1];
  }

  /** Keeps the token count of miss k (not for chunks longer than chunkMax; counts over 255 are not kept). */
  remember(k: number, count: number): void {
    this.x.remember(k, count);
  }

  /** Where the last countChunks cut its text: each chunk's end (for checking the cut). */
  chunkEnds(): number[] {
    const n = this.ints[(RESULT + 20) >> 2];
    const at = this.x.chunkList() >> 2;
    return Array.from(this.ints.subarray(at, at + n));
  }
}
