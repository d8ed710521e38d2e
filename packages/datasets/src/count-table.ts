/**
 * A bounded cache of token counts keyed by a text's length and two independent 32-bit hashes (no
 * string is built or compared on a hit; a false match needs a 64-bit collision between texts of
 * one length). Open addressing over one Int32Array, 4 ints per slot side by side so a probe
 * touches one cache line: length (0 marks a free slot; keys are never empty), hash 1, hash 2,
 * count. It starts small (stays in cache while few texts are known), doubles up to `maxSlots`,
 * and then starts over when three quarters full: the working set of a language's words refills
 * it quickly, and memory stays bounded.
 */
export class CountTable {
  private t: Int32Array;
  private mask: number;
  private shift: number;
  private used = 0;

  constructor(
    startSlots: number,
    private readonly maxSlots: number,
  ) {
    this.t = new Int32Array(startSlots * 4);
    this.mask = startSlots - 1;
    this.shift = 32 - Math.log2(startSlots);
  }

  get slots(): number {
    return this.mask + 1;
  }

  /** The count stored for the key, or -1. */
  get(len: number, h1: number, h2: number): number {
    const t = this.t;
    let slot = Math.imul(h1 ^ Math.imul(h2 ^ len, 0x27d4eb2f), 0x9e3779b1) >>> this.shift;
    for (;;) {
      const o = slot << 2;
      const l = t[o];
      if (l === len && t[o + 1] === h1 && t[o + 2] === h2) return t[o + 3];
      if (l === 0) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Stores a key that `get` did not find. */
  add(len: number, h1: number, h2: number, count: number): void {
    if ((this.used + 1) * 4 > (this.mask + 1) * 3) {
      if (this.mask + 1 < this.maxSlots) this.grow();
      else {
        this.t.fill(0);
        this.used = 0;
      }
    }
    const o = this.free(this.t, len, h1, h2, this.mask, this.shift);
    this.t[o] = len;
    this.t[o + 1] = h1;
    this.t[o + 2] = h2;
    this.t[o + 3] = count;
    this.used++;
  }

  private free(t: Int32Array, len: number, h1: number, h2: number, mask: number, shift: number): number {
    let slot = Math.imul(h1 ^ Math.imul(h2 ^ len, 0x27d4eb2f), 0x9e3779b1) >>> shift;
    while (t[slot << 2] !== 0) slot = (slot + 1) & mask;
    return slot << 2;
  }

  private grow(): void {
    const old = this.t;
    const slots = (this.mask + 1) * 2;
    const t = new Int32Array(slots * 4);
    const mask = slots - 1;
    const shift = this.shift - 1;
    for (let o = 0; o < old.length; o += 4) {
      if (old[o] === 0) continue;
      t.set(old.subarray(o, o + 4), this.free(t, old[o], old[o + 1], old[o + 2], mask, shift));
    }
    this.t = t;
    this.mask = mask;
    this.shift = shift;
  }
}
