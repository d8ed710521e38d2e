/** Buffered output is written once this much has gathered. */
const FLUSH_BYTES = 1 << 20;

/**
 * The normalized JSONL being written: lines gather at the start of one reused buffer (grown only
 * for a line longer than it) and go to the sink between input chunks.
 */
export class NormalizedOutput {
  private buf = Buffer.allocUnsafeSlow(4 << 20);
  private len = 0;
  private written = 0;

  /** `write` is done with the buffer when it resolves: the buffer is reused for the next lines. */
  constructor(private readonly sink: { write(buf: Buffer, n: number): Promise<void> }) {}

  /** Bytes written to the file so far. */
  get bytes(): number {
    return this.written;
  }

  /** A line that is `src[start, end)` as it came in (a canonical JSONL line is copied, not re-encoded). */
  copy(src: Buffer, start: number, end: number): void {
    const buf = this.room(end - start + 1);
    src.copy(buf, this.len, start, end);
    this.len += end - start;
    buf[this.len++] = 10;
  }

  line(text: string): void {
    const buf = this.room(text.length * 3 + 1);
    this.len += buf.write(text, this.len);
    buf[this.len++] = 10;
  }

  /** Writes what is buffered once enough has gathered, or all of it with `force`. */
  async flush(force = false): Promise<void> {
    if (this.len === 0 || (!force && this.len < FLUSH_BYTES)) return;
    const n = this.len;
    this.len = 0;
    await this.sink.write(this.buf, n);
    this.written += n;
    // A buffer grown for one very long line is not kept.
    if (this.buf.length > 16 << 20) this.buf = Buffer.allocUnsafeSlow(4 << 20);
  }

  /** Drops what is buffered (a file with errors is not stored). */
  discard(): void {
    this.len = 0;
  }

  /** Room for `n` more bytes (the buffer only grows for a line longer than it). */
  private room(n: number): Buffer {
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    return this.buf;
  }
}
