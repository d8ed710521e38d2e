import { isUtf8 } from 'node:buffer';
import { fail, invalidUtf8At } from './source';

/** Where readJsonl hands the lines of a JSONL file, numbered from 1 (blank lines count). */
export interface JsonlSink {
  /** A line `buf[start, end)`: valid UTF-8, not blank, without its line end. */
  line(line: number, buf: Buffer, start: number, end: number): void;
  /** A line that cannot be a record: not UTF-8, or too long. */
  badLine(line: number, message: string): void;
  /** Between input chunks: a chance to write out what the lines produced. */
  flush(): Promise<void>;
}

/** Splits decoded bytes into lines without holding more than `maxLineBytes` of any one line. */
export async function readJsonl(chunks: AsyncIterable<Buffer>, sink: JsonlSink, maxLineBytes: number, signal?: AbortSignal): Promise<void> {
  let work = Buffer.allocUnsafeSlow(2 << 20);
  let have = 0; // bytes of an unfinished line held at the start of `work`
  let skipping = false; // inside an over-long line: drop bytes up to its end
  /** Moves buf[from..] (the unfinished last line) to the start of `work`. */
  const keep = (buf: Buffer, from: number): void => {
    const n = buf.length - from;
    if (n > work.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(n, work.length * 2));
      buf.copy(bigger, 0, from);
      work = bigger;
    } else if (buf.buffer === work.buffer && buf.byteOffset === work.byteOffset) work.copyWithin(0, from, buf.length);
    else buf.copy(work, 0, from);
    have = n;
  };
  let line = 0;
  let first = true;
  /** The line buf[start, end) (valid UTF-8, without its \n): each line is decoded on its own, so
   *  an ASCII line becomes a one-byte string (faster to parse and scan) whatever its neighbours hold. */
  const handle = (buf: Buffer, start: number, end: number): void => {
    line++;
    if (end > start && buf[end - 1] === 13) end--;
    if (end === start) return;
    const c0 = buf[start];
    if ((c0 === 32 || c0 === 9) && buf.toString('utf8', start, end).trim() === '') return;
    sink.line(line, buf, start, end);
  };
  const region = (buf: Buffer): void => {
    const valid = isUtf8(buf);
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      if (valid || isUtf8(buf.subarray(pos, nl))) handle(buf, pos, nl);
      else {
        const b = buf.subarray(pos, nl);
        line++;
        const at = invalidUtf8At(b);
        sink.badLine(line, `Line ${line}: invalid UTF-8 at byte ${at + 1} of the line (0x${b.subarray(at, at + 4).toString('hex')}); the file must be UTF-8 encoded.`);
      }
      pos = nl + 1;
    }
  };
  const tooLong = (): void => {
    line++;
    sink.badLine(line, `Line ${line} is longer than ${maxLineBytes} bytes, the most one record may have; is the file JSONL (one JSON object per line)?`);
  };
  for await (let chunk of chunks) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    if (first) {
      first = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      let i = 0;
      while (i < chunk.length && (chunk[i] === 32 || chunk[i] === 10 || chunk[i] === 13 || chunk[i] === 9)) i++;
      if (chunk[i] === 0x5b /* [ */) {
        throw fail('This looks like a JSON array, not JSONL: write one JSON object per line (no enclosing [ ]).');
      }
    }
    if (skipping) {
      const nl = chunk.indexOf(10);
      if (nl < 0) continue;
      skipping = false;
      chunk = chunk.subarray(nl + 1);
    }
    // The unfinished line of the previous chunk waits at the start of `work`; the new chunk is
    // appended behind it. Reusing one buffer keeps memory flat (no buffer per chunk to collect).
    let buf: Buffer;
    if (have === 0) buf = chunk;
    else {
      if (have + chunk.length > work.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(have + chunk.length, work.length * 2));
        work.copy(bigger, 0, 0, have);
        work = bigger;
      }
      chunk.copy(work, have);
      buf = work.subarray(0, have + chunk.length);
    }
    have = 0;
    const last = buf.lastIndexOf(10);
    if (last < 0) {
      if (buf.length > maxLineBytes) {
        tooLong();
        skipping = true;
      } else keep(buf, 0);
    } else {
      // A line in the middle of this buffer may itself be over the limit.
      let start = 0;
      if (buf.length > maxLineBytes) {
        let p = 0;
        for (;;) {
          const nl = buf.indexOf(10, p);
          if (nl < 0 || nl > last) break;
          if (nl - p > maxLineBytes) {
            if (p > start) region(buf.subarray(start, p));
            tooLong();
            start = nl + 1;
          }
          p = nl + 1;
        }
      }
      region(buf.subarray(start, last + 1));
      if (last + 1 < buf.length) {
        if (buf.length - last - 1 > maxLineBytes) {
          tooLong();
          skipping = true;
        } else keep(buf, last + 1);
      }
    }
    await sink.flush();
  }
  if (have) {
    if (have + 1 > work.length) {
      const bigger = Buffer.allocUnsafeSlow(have + 1);
      work.copy(bigger, 0, 0, have);
      work = bigger;
    }
    work[have] = 10;
    region(work.subarray(0, have + 1));
  }
}
