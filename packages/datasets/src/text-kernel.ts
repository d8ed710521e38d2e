import { TEXT_KERNEL_WASM } from './text-kernel-wasm';

/**
 * The WebAssembly kernel (text-kernel.wat) that does validation's per-character work: duplicate
 * fingerprints of examples and the chunk cut and table lookups of token counting. A text is
 * copied in as UTF-16 code units (node's native string write, ~0.4 ns per character), then
 * scanned eight units at a time. Loaded texts stay in until their area is full, remembered by
 * length, so a message fingerprinted and then counted on one kernel is copied once. Each
 * instance has its own memory: its texts and, when it counts tokens, its chunk table. Calls are
 * synchronous and never interleave. The memory's layout and flags stay in this module: callers
 * hold TextRef handles and read a parsed line through ParsedChat.
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

/**
 * A text in the kernel's memory (from load, or a parsed line's content): valid until the text
 * area is next emptied, i.e. until more is loaded or parsed than the area holds.
 */
export type TextRef = number & { readonly __kernelText: unique symbol };

/** The roles parseChat takes: the other roles (tool) go to JSON.parse and the full checks. */
export type ParsedRole = 'system' | 'user' | 'assistant';
/** The role of each of chat()'s role codes (see text-kernel.wat). */
const PARSED_ROLES: readonly (ParsedRole | undefined)[] = [undefined, 'system', 'user', 'assistant'];

/**
 * The chat line the kernel parsed last: its messages, each with its role, whether it is left out
 * of the loss, and its content (UTF-16, in the kernel's memory). Read it before the next parse
 * on the same kernel; the record itself is reused.
 */
export interface ParsedChat {
  /** Number of messages (at least one). */
  readonly messages: number;
  /** Length of all the contents together, in UTF-16 units. */
  readonly characters: number;
  role(i: number): ParsedRole;
  /** Message i has weight 0 (left out of the loss). */
  excluded(i: number): boolean;
  /** Message i's content may hold personal data (an '@', or a run of digits and phone punctuation). */
  mayHoldPii(i: number): boolean;
  /** Message i's content contains the `lead` unit given to parseChat. */
  hasLead(i: number): boolean;
  /** Where message i's content is (for countChunks, fingerprints, slice). */
  content(i: number): TextRef;
  /** Message i's content length in UTF-16 units. */
  length(i: number): number;
  /** The first and the last unit of message i's content. */
  firstUnit(i: number): number;
  lastUnit(i: number): number;
  /** Message i's content as a string. */
  text(i: number): string;
}

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
  private readonly chat = new ChatView();

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
    this.chat.bytes = this.bytes;
    this.chat.ints = this.ints;
  }

  /**
   * Where `s` is in the kernel's memory (pass it with s.length to the scans): copied in, unless
   * the text last loaded with its length is this same text and still there.
   */
  load(s: string): TextRef {
    const len = s.length;
    const k = len & (REMEMBERED - 1);
    if (this.loaded[k] === s) return this.loadedAt[k] as TextRef;
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
   * ExampleHasher would (read with fingerprintFinish). Returns the parsed line, or null when the
   * line is anything else (JSON.parse and the full checks must judge it). `lead`: a unit whose
   * presence in a content is flagged (-1: none).
   */
  parseChat(buf: Buffer, start: number, end: number, lead: number): ParsedChat | null {
    const len = end - start;
    // The line's bytes, then its contents as UTF-16, 32 bytes apart.
    const line = this.take((len >> 1) + len + CHAT_MAX * 24 + 64);
    buf.copy(this.bytes, line, start, end);
    const n = this.x.chat(line, len, (line + len + 47) & ~15, lead);
    if (n === 0) return null;
    this.chat.messages = n;
    return this.chat;
  }

  /**
   * The address of room for `units` code units in the text area, after what was taken last;
   * from the start again (forgetting the loaded texts) when the area is full, grown if too small.
   */
  private take(units: number): TextRef {
    let off = this.used + GAP;
    if (off + units + GAP > this.capacity) {
      if (units + 2 * GAP > this.capacity) this.reserve(Math.max(units + 2 * GAP, this.capacity * 2));
      this.loaded.fill(null);
      off = GAP;
    }
    this.used = (off + units + 7) & ~7;
    return (this.textAt + off * 2) as TextRef;
  }

  /** Units [start, end) of a text in the kernel's memory, as a string. */
  slice(text: TextRef, start: number, end: number): string {
    return this.bytes.toString('utf16le', text + 2 * start, text + 2 * end);
  }

  // ---- fingerprints of one example: reset, then per text a mark and a feed, then finish

  fingerprintReset(): void {
    this.x.fpReset();
  }

  fingerprintMark(code: number): void {
    this.x.fpMark(code);
  }

  /** Feeds a loaded text (`at` from load); true when it may hold personal data. */
  fingerprintFeed(at: TextRef, len: number): boolean {
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
  countChunks(at: TextRef, len: number, chunkMax: number): number {
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

/**
 * chat()'s description of the line it parsed: per message 32 bytes from CHAT + 64 — role code
 * (system 1, user 2, assistant 3; +8 with weight 0), content address, length, flags (bit 0 may
 * hold personal data, bit 1 holds the lead unit), first unit, last unit — and the contents'
 * total length at CHAT + 4.
 */
class ChatView implements ParsedChat {
  messages = 0;
  bytes!: Buffer;
  ints!: Int32Array;

  get characters(): number {
    return this.ints[(CHAT + 4) >> 2];
  }

  role(i: number): ParsedRole {
    return PARSED_ROLES[this.ints[(CHAT + 64 + 32 * i) >> 2] & 7] as ParsedRole;
  }

  excluded(i: number): boolean {
    return (this.ints[(CHAT + 64 + 32 * i) >> 2] & 8) !== 0;
  }

  content(i: number): TextRef {
    return this.ints[(CHAT + 68 + 32 * i) >> 2] as TextRef;
  }

  length(i: number): number {
    return this.ints[(CHAT + 72 + 32 * i) >> 2];
  }

  mayHoldPii(i: number): boolean {
    return (this.ints[(CHAT + 76 + 32 * i) >> 2] & 1) !== 0;
  }

  hasLead(i: number): boolean {
    return (this.ints[(CHAT + 76 + 32 * i) >> 2] & 2) !== 0;
  }

  firstUnit(i: number): number {
    return this.ints[(CHAT + 80 + 32 * i) >> 2];
  }

  lastUnit(i: number): number {
    return this.ints[(CHAT + 84 + 32 * i) >> 2];
  }

  text(i: number): string {
    const at = this.content(i);
    return this.bytes.toString('utf16le', at, at + 2 * this.length(i));
  }
}
