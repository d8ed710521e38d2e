/**
 * A hand-over of chunks from a producer to one consumer that iterates it: a request body's reader
 * to the validation, or a validation thread's message port to its reader. `push` waits while
 * more than `limit` bytes are queued; `onTake` hears of each chunk the consumer takes (with how
 * many are still queued). Once the consumer stops (it returned early or failed), pushes are
 * dropped, so the producer can go on or stop as it sees fit.
 */
export class ChunkFeed implements AsyncIterable<Uint8Array> {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private error: unknown = null;
  private closed = false;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  constructor(
    private readonly limit = 4 << 20,
    private readonly onTake?: (chunk: Uint8Array, stillQueued: number) => void,
  ) {}

  /** Whether the consumer still takes chunks. */
  get open(): boolean {
    return !this.closed;
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.closed) return;
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    this.notifyConsumer();
    while (this.queued > this.limit && !this.closed) await new Promise<void>((r) => (this.wakeProducer = r));
  }

  end(): void {
    this.ended = true;
    this.notifyConsumer();
  }

  fail(e: unknown): void {
    this.error = e;
    this.notifyConsumer();
  }

  private notifyConsumer(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = null;
    w?.();
  }

  private notifyProducer(): void {
    const w = this.wakeProducer;
    this.wakeProducer = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        if (this.error) throw this.error;
        const chunk = this.queue.shift();
        if (chunk) {
          this.queued -= chunk.byteLength;
          this.notifyProducer();
          this.onTake?.(chunk, this.queue.length);
          yield chunk;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      this.closed = true;
      this.queue = [];
      this.queued = 0;
      this.notifyProducer();
    }
  }
}
