import { TEXT_KERNEL_WASM } from './text-kernel-wasm';

/**
 * The WebAssembly kernel (text-kernel.wat) that does validation's per-character work: duplicate
 * fingerprints of examples and the chunk cut and table lookups of token counting. A text is
 * copied in once as UTF-16 code units (node's native string write, ~0.4 ns per character), then
 * scanned eight units at a time. Each instance has its own memory: its text buffer and, when it
 * counts tokens, its chunk table. Calls are synchronous and never interleave.
 */

interface Exports {
  memory: WebAssembly.Memory;
  reserve(units: number): number;
  missList(): number;
  chunkList(): number;
  fpReset(): void;
  fpMark(code: number): void;
  fpFeed(len: number): number;
  fpFinish(): number;
  tableInit(startSlots: number, maxSlots: number): void;
  tableSlots(): number;
  count(len: number, chunkMax: number): number;
  remember(miss: number, count: number): void;
}

/** Where count() reports its misses and chunks (see text-kernel.wat). */
const RESULT = 0x1000;
/** Largest chunk table the kernel's memory layout holds (2 MB). */
export const MAX_TABLE_SLOTS = 1 << 17;

let compiled: WebAssembly.Module | null = null;

export class TextKernel {
  private readonly x: Exports;
  private bytes!: Buffer;
  private ints!: Int32Array;
  private textAt = 0;
  private capacity = 0;
  private missAt = 0;

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

  /** Copies `s` in (replacing the previous text); returns its length in code units. */
  load(s: string): number {
    if (s.length > this.capacity) this.reserve(Math.max(s.length, this.capacity * 2));
    this.bytes.write(s, this.textAt, 'utf16le');
    return s.length;
  }

  // ---- fingerprints of one example: reset, then per text a mark and a feed, then finish

  fingerprintReset(): void {
    this.x.fpReset();
  }

  fingerprintMark(code: number): void {
    this.x.fpMark(code);
  }

  /** Feeds the loaded text (`len` from load); true when it may hold personal data. */
  fingerprintFeed(len: number): boolean {
    return this.x.fpFeed(len) !== 0;
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
   * Cuts the loaded text before every space that follows a non-space and returns the tokens of
   * the chunks the table knows; the others are then `misses` (see missStart/missEnd/remember).
   */
  countChunks(len: number, chunkMax: number): number {
    return this.x.count(len, chunkMax);
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

  /** Keeps the token count of miss k (not for chunks longer than chunkMax). */
  remember(k: number, count: number): void {
    this.x.remember(k, count);
  }

  /** Where the last countChunks cut its text: each chunk's end. */
  chunkEnds(): number[] {
    const n = this.ints[(RESULT + 20) >> 2];
    const at = this.x.chunkList() >> 2;
    return Array.from(this.ints.subarray(at, at + n));
  }
}
