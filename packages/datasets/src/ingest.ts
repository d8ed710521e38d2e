import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import {
  DomainError,
  baseModels,
  detectRecordFormat,
  recordCheckers,
  type DatasetFormat,
  type ErrorDetail,
  type RecordUnit,
} from '@edgetune/contracts';
import { DuplicateTable, ExampleHasher, LabelCounter, LineList, MIN_EXAMPLE_CHARS, IMBALANCE_RATIO, MAX_LABEL_CHARS, scanPii, TokenStats, type Locator, type Warning } from './analysis';
import { assertText, DEFAULT_MAX_RATIO, decodedChunks, fail, isParquet, readHead, sniffCompression, type ByteStats, type Compression, type Container } from './source';
import { readCsv, readParquet, resolveMapping, type Mapping } from './tabular';
import { TextKernel } from './text-kernel';
import { loadTokenCounter, ROLE_NAMES, type TemplateMessage, type TokenCounter, type TokenizerAvailability } from './tokens';

export const MAX_REPORTED_ERRORS = 20;
/** Token counting is timed on one example in this many (see Ingestor.tokenClock). */
const TOKEN_TIMING_EVERY = 8;
/** Longer lines go to JSON.parse: the kernel's memory grows with the longest line it parses. */
const KERNEL_PARSE_MAX_BYTES = 1 << 18;
/** One JSONL record may not be longer than this; a longer line is reported without buffering it. */
export const DEFAULT_MAX_LINE_BYTES = 8 << 20;

export interface IngestOptions {
  /** Used for container/compression detection together with the file's first bytes. */
  filename: string;
  /** Default: detected from the first record (JSONL) or the columns (CSV/Parquet). */
  format?: DatasetFormat | 'auto';
  /** CSV/Parquet: target field → source column, e.g. { prompt: 'question', completion: 'answer' }. */
  columns?: Record<string, string>;
  /** Catalog id used for token statistics and too-long warnings (default: the catalog default). */
  baseModel?: string;
  /** Decompression-bomb guard: most bytes a compressed upload may expand to. */
  maxDecompressedBytes: number;
  /** Decompression-bomb guard: highest expansion ratio accepted past 64 MB (default 1000). */
  maxDecompressionRatio?: number;
  /** Longest JSONL line accepted (default 8 MiB). */
  maxLineBytes?: number;
  /**
   * Parse chat JSONL lines of the common shape in the WebAssembly kernel instead of with
   * JSON.parse (default true; the results are the same — tests compare both ways).
   */
  parseInKernel?: boolean;
  signal?: AbortSignal;
}

export interface TokenSummary {
  total: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
  histogram: { lo: number; hi: number; count: number }[];
}

export interface DatasetReport {
  format: DatasetFormat;
  examples: number;
  /** What warnings' `lines` count: JSONL lines of the upload, or CSV/Parquet data rows (absent in older reports). */
  unit?: 'line' | 'row';
  warnings: Warning[];
  stats: {
    lines: number;
    messages?: number;
    characters: number;
    roles?: Record<string, number>;
    toolCalls?: number;
    examplesWithTools?: number;
    excludedTurns?: number;
    tokens: TokenSummary | null;
    tokenizer: TokenizerAvailability & { note?: string };
    labels?: { label: string; count: number }[] | null;
  };
}

export interface IngestResult {
  format: DatasetFormat;
  examples: number;
  sha256: string;
  uploadedBytes: number;
  normalizedBytes: number;
  source: Record<string, unknown>;
  report: DatasetReport;
  stats: Record<string, number>;
  /** JSONL lines parsed by the text kernel rather than JSON.parse (see IngestOptions.parseInKernel). */
  parsedInKernel: number;
}

const defaultBaseModel = (): string => baseModels.find((m) => m.builtin)?.id ?? baseModels[0].id;

const chatTopKeys = new Set(['messages', 'tools', 'parallel_tool_calls']);
type Obj = Record<string, unknown>;

/** Per-record work shared by every container: check, normalize, analyse, write. */
class Ingestor implements Locator {
  format: DatasetFormat | null;
  private formatFrom = 0;
  unit: RecordUnit = 'Line';
  readonly errors: ErrorDetail[] = [];
  errorCount = 0;
  errorLines = 0;
  private scratch: ErrorDetail[] = [];
  examples = 0;
  lines = 0;
  messages = 0;
  characters = 0;
  toolCalls = 0;
  examplesWithTools = 0;
  excludedTurns = 0;
  roles: Record<string, number> = { system: 0, user: 0, assistant: 0, tool: 0 };
  /** The counter's kernel when tokens are counted: a message is copied in once for its fingerprint and its tokens. */
  private readonly kernel: TextKernel;
  private hasher: ExampleHasher;
  /** Lines parsed by the kernel (see jsonBytes), not JSON.parse. */
  parsedInKernel = 0;
  private dups = new DuplicateTable();
  // Each listed line keeps the stored record it became (see storedRecord), so a report links to it exactly.
  readonly exact = new LineList(this);
  readonly near = new LineList(this);
  readonly short = new LineList(this);
  readonly tooLong = new LineList(this);
  readonly pii = [new LineList(this), new LineList(this), new LineList(this)];
  readonly labels = new LabelCounter(this);
  /** CSV: the line of the file where the current row starts (set by the reader); 0 otherwise. */
  fileLine = 0;
  readonly tokenStats = new TokenStats();
  /** Time in token counting on the timed examples (see tokenClock), and how many were counted and timed. */
  private tokenMs = 0;
  private tokenExamples = 0;
  private tokenTimed = 0;
  /**
   * Normalized output waiting to be written: `outLen` bytes at the start of one reused buffer
   * (grown only for a line longer than it), written out between input chunks.
   */
  private outBuf = Buffer.allocUnsafeSlow(4 << 20);
  private outLen = 0;
  /** Where the current JSONL line's bytes are, so a canonical line is copied, not re-encoded. */
  private rawBuf: Buffer | null = null;
  private rawStart = 0;
  private rawEnd = 0;
  normalizedBytes = 0;

  constructor(
    format: DatasetFormat | 'auto',
    private counter: TokenCounter | null,
    private fh: FileHandle,
    private readonly kernelParsing = true,
  ) {
    this.format = format === 'auto' ? null : format;
    this.kernel = counter?.kernel ?? new TextKernel();
    this.hasher = new ExampleHasher(this.kernel);
  }

  /**
   * The current example's record number in the stored file: while it is analysed, the examples
   * before it are exactly the records written before it (any error rejects the whole file).
   */
  get storedRecord(): number {
    return this.examples + 1;
  }

  error(detail: ErrorDetail): void {
    this.errorCount++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(this.fileLine > 0 ? withFileLine(detail, this.fileLine) : detail);
  }

  lineError(detail: ErrorDetail): void {
    this.errorLines++;
    this.error(detail);
  }

  /** A JSONL line `bytes[start, end)` (already UTF-8 checked, not blank). */
  jsonBytes(line: number, bytes: Buffer, start: number, end: number): void {
    if (
      this.kernelParsing &&
      end - start <= KERNEL_PARSE_MAX_BYTES &&
      (this.format === 'chat' || this.format === null) &&
      (this.counter === null || this.counter.countsParsed) &&
      this.parsedChat(line, bytes, start, end)
    ) {
      return;
    }
    this.jsonLine(line, bytes.toString('utf8', start, end), bytes, start, end);
  }

  /**
   * A chat line of the common shape taken from the kernel's parse (TextKernel.parseChat): the
   * same checks passed, statistics, warnings and output as record() gives it, without a
   * JavaScript object or string per message. False, with nothing recorded, for any other line.
   */
  private parsedChat(line: number, bytes: Buffer, start: number, end: number): boolean {
    const k = this.kernel;
    const counter = this.counter;
    const n = k.parseChat(bytes, start, end, counter ? counter.leadCode : -1);
    if (n === 0) return false;
    // What is read of the contents is read before counting tokens (which may reuse their memory).
    let pii = 0;
    for (let i = 0; i < n; i++) if (k.chatFlags(i) & 1) pii |= scanPii(k.text(k.chatAt(i), k.chatLength(i)));
    // The answer (the last message) is a label candidate only if it is short once trimmed.
    const last = n - 1;
    const len = k.chatLength(last);
    const first = k.chatFirst(last);
    const final = k.chatLast(last);
    const answer = len <= MAX_LABEL_CHARS || first <= 32 || first >= 128 || final <= 32 || final >= 128 ? k.text(k.chatAt(last), len) : null;
    let tokens = 0;
    if (counter) {
      const t0 = this.tokenClock();
      tokens = counter.countParsed(k, n);
      if (tokens < 0) return false;
      this.tokenCounted(t0);
    }
    if (this.format === null) {
      this.format = 'chat';
      this.formatFrom = line;
    }
    this.parsedInKernel++;
    for (let i = 0; i < n; i++) {
      const code = k.chatCode(i);
      this.roles[ROLE_NAMES[code & 7]]++;
      if (code & 8) this.excludedTurns++;
    }
    this.messages += n;
    this.finishExample(line, k.chatCharacters, pii);
    if (answer === null) this.labels.addLong();
    else this.labels.add(answer, line);
    if (counter) {
      this.tokenStats.add(tokens);
      if (tokens > counter.contextLength) this.tooLong.add(line);
    }
    this.examples++;
    if (this.errorCount === 0) this.outBytes(bytes, start, end);
    return true;
  }

  /** A JSONL line (already UTF-8 checked, not blank): `text` is `bytes[start, end)` decoded. */
  jsonLine(line: number, text: string, bytes: Buffer, start: number, end: number): void {
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (e) {
      this.lineError({ line, message: `Line ${line}: invalid JSON (${(e as Error).message}).` });
      return;
    }
    this.rawBuf = bytes;
    this.rawStart = start;
    this.rawEnd = end;
    this.record(line, rec, text);
    this.rawBuf = null;
  }

  record(line: number, rec: unknown, raw: string | null): void {
    const at = `${this.unit} ${line}`;
    let format = this.format;
    const seen = detectRecordFormat(rec);
    if (format === null) {
      if (seen === null) {
        const keys = rec !== null && typeof rec === 'object' && !Array.isArray(rec) ? Object.keys(rec as Obj) : [];
        this.lineError({
          line,
          message: `${at}: cannot tell the dataset format: expected "messages" (chat), "prompt" + "completion", or "prompt" + "chosen" + "rejected"; found ${keys.length ? `keys ${keys.map((k) => `"${k}"`).join(', ')}` : JSON.stringify(rec)?.slice(0, 60)}.`,
        });
        return;
      }
      format = this.format = seen;
      this.formatFrom = line;
    } else if (seen !== null && seen !== format) {
      const from = this.formatFrom ? ` (detected from ${this.unit.toLowerCase()} ${this.formatFrom})` : '';
      this.lineError({ line, message: `${at}: this is a ${seen} record, but the file is ${format}${from}; all records must have the same format.` });
      return;
    }
    const errs = this.scratch;
    errs.length = 0;
    recordCheckers[format](rec, line, errs, this.unit);
    if (errs.length) {
      this.errorLines++;
      for (const e of errs) this.error(e);
      return;
    }
    const r = rec as Obj;
    let outLine: string | null;
    if (format === 'chat') {
      let canonical = raw !== null;
      if (canonical) for (const k in r) if (!chatTopKeys.has(k)) canonical = false;
      if (!canonical) outLine = JSON.stringify({ messages: r.messages, ...(r.tools !== undefined ? { tools: r.tools } : {}), ...(r.parallel_tool_calls !== undefined ? { parallel_tool_calls: r.parallel_tool_calls } : {}) });
      // A canonical JSONL line goes out as the bytes it came in (null: copy them), not re-encoded.
      else outLine = this.rawBuf ? null : (raw as string);
      this.analyseChat(line, r.messages as Obj[], (r.tools as unknown[] | undefined) ?? null);
    } else if (format === 'prompt_completion') {
      const messages = [
        { role: 'user', content: r.prompt as string },
        { role: 'assistant', content: r.completion as string },
      ];
      outLine = JSON.stringify({ messages });
      this.analyseChat(line, messages, null);
    } else {
      outLine = JSON.stringify({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected });
      this.analysePreference(line, r);
    }
    this.examples++;
    if (this.errorCount === 0) {
      if (outLine === null) this.outBytes(this.rawBuf as Buffer, this.rawStart, this.rawEnd);
      else this.outString(outLine);
    }
  }

  /** Room for `n` more output bytes (the buffer only grows for a line longer than it). */
  private outRoom(n: number): Buffer {
    if (this.outLen + n > this.outBuf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.outBuf.length * 2, this.outLen + n));
      this.outBuf.copy(bigger, 0, 0, this.outLen);
      this.outBuf = bigger;
    }
    return this.outBuf;
  }

  private outBytes(src: Buffer, start: number, end: number): void {
    const buf = this.outRoom(end - start + 1);
    src.copy(buf, this.outLen, start, end);
    this.outLen += end - start;
    buf[this.outLen++] = 10;
  }

  private outString(line: string): void {
    const buf = this.outRoom(line.length * 3 + 1);
    this.outLen += buf.write(line, this.outLen);
    buf[this.outLen++] = 10;
  }

  private analyseChat(line: number, messages: Obj[], tools: unknown[] | null): void {
    const h = this.hasher;
    h.reset();
    let chars = 0;
    let pii = 0;
    let last = '';
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      const role = m.role as string;
      this.roles[role]++;
      h.mark(role.charCodeAt(0) + (m.weight === 0 ? 1000 : 0));
      const c = m.content;
      if (typeof c === 'string') {
        h.feed(c);
        chars += c.length;
        if (h.piiCandidate) pii |= scanPii(c);
        if (role === 'assistant') last = c;
      }
      if (m.tool_calls) {
        const calls = m.tool_calls as Obj[];
        this.toolCalls += calls.length;
        h.feed(JSON.stringify(calls.map((t) => t.function)));
      }
      if (m.weight === 0) this.excludedTurns++;
    }
    if (tools) {
      this.examplesWithTools++;
      h.mark(7);
      h.feed(JSON.stringify(tools));
    }
    this.messages += messages.length;
    this.finishExample(line, chars, pii);
    this.labels.add(last, line);
    if (this.counter) {
      const t0 = this.tokenClock();
      const n = this.counter.countExample(messages as TemplateMessage[], tools);
      this.tokenCounted(t0);
      this.tokenStats.add(n);
      if (n > this.counter.contextLength) this.tooLong.add(line);
    }
  }

  /**
   * The start time when this example's token counting is timed, else -1: one example in
   * TOKEN_TIMING_EVERY is timed and the total scaled (reading the clock around every example
   * costs 2 % of validation).
   */
  private tokenClock(): number {
    return this.tokenExamples % TOKEN_TIMING_EVERY === 0 ? performance.now() : -1;
  }

  /** An example's tokens were counted (`t0` from tokenClock, just before). */
  private tokenCounted(t0: number): void {
    this.tokenExamples++;
    if (t0 >= 0) {
      this.tokenTimed++;
      this.tokenMs += performance.now() - t0;
    }
  }

  /** Estimated milliseconds spent counting tokens: the timed examples' time, scaled to all. */
  get tokenizerMs(): number {
    return this.tokenTimed ? (this.tokenMs * this.tokenExamples) / this.tokenTimed : 0;
  }

  private analysePreference(line: number, r: Obj): void {
    const h = this.hasher;
    h.reset();
    let chars = 0;
    let pii = 0;
    const side = (v: unknown, role: string): TemplateMessage[] => (typeof v === 'string' ? [{ role, content: v }] : (v as TemplateMessage[]));
    const parts = { prompt: side(r.prompt, 'user'), chosen: side(r.chosen, 'assistant'), rejected: side(r.rejected, 'assistant') };
    for (const [k, msgs] of Object.entries(parts)) {
      h.mark(k.charCodeAt(0));
      for (const m of msgs) {
        if (typeof m.content === 'string') {
          h.feed(m.content);
          chars += m.content.length;
          if (h.piiCandidate) pii |= scanPii(m.content);
        }
      }
    }
    this.messages += parts.prompt.length + parts.chosen.length + parts.rejected.length;
    this.finishExample(line, chars, pii);
    const lastChosen = parts.chosen[parts.chosen.length - 1]?.content;
    this.labels.add(typeof lastChosen === 'string' ? lastChosen : '', line);
    if (this.counter) {
      const t0 = this.tokenClock();
      // DPO trains on both sequences: both count towards the total; the longer one must fit.
      const a = this.counter.countExample([...parts.prompt, ...parts.chosen], null);
      const b = this.counter.countExample([...parts.prompt, ...parts.rejected], null);
      this.tokenCounted(t0);
      this.tokenStats.add(Math.max(a, b));
      this.tokenStats.total += Math.min(a, b);
      if (Math.max(a, b) > this.counter.contextLength) this.tooLong.add(line);
    }
  }

  private finishExample(line: number, chars: number, pii: number): void {
    this.characters += chars;
    const h = this.hasher;
    h.finish();
    const d = this.dups.check(h.n1, h.n2, h.e);
    if (d === 1) this.exact.add(line);
    else if (d === 2) this.near.add(line);
    if (chars < MIN_EXAMPLE_CHARS) this.short.add(line);
    if (pii & 1) this.pii[0].add(line);
    if (pii & 2) this.pii[1].add(line);
    if (pii & 4) this.pii[2].add(line);
  }

  /** Writes what is buffered once enough has gathered (call between input chunks). */
  async flush(force = false): Promise<void> {
    if (this.errorCount > 0) {
      this.outLen = 0;
      return;
    }
    if (this.outLen === 0 || (!force && this.outLen < 1 << 20)) return;
    const n = this.outLen;
    this.outLen = 0;
    await this.fh.write(this.outBuf, 0, n);
    this.normalizedBytes += n;
    // A buffer grown for one very long line is not kept.
    if (this.outBuf.length > 16 << 20) this.outBuf = Buffer.allocUnsafeSlow(4 << 20);
  }

  warnings(): Warning[] {
    const w: Warning[] = [];
    const u = this.unit.toLowerCase();
    const add = (code: string, list: LineList, message: string): void => {
      if (list.count) w.push({ code, message, lines: list.lines, count: list.count, ...located(list) });
    };
    const dupNote = this.dupsFullNote();
    add('duplicates', this.exact, `${this.exact.count} ${examplesVerb(this.exact.count, 'repeats', 'repeat')} an earlier example exactly${dupNote}.`);
    add(
      'near_duplicates',
      this.near,
      `${this.near.count} ${examplesVerb(this.near.count, 'matches', 'match')} an earlier example once case, whitespace and punctuation are ignored${dupNote}.`,
    );
    if (this.counter) {
      add('too_long', this.tooLong, `${this.tooLong.count} ${examplesVerb(this.tooLong.count, 'exceeds', 'exceed')} the ${this.counter.contextLength}-token context of ${this.counter.baseModel} (counted with its tokenizer and chat template); training truncates them.`);
    }
    add('too_short', this.short, `${this.short.count} ${examplesVerb(this.short.count, 'has', 'have')} fewer than ${MIN_EXAMPLE_CHARS} characters of text in all their messages together.`);
    const dist = this.labels.distribution();
    if (dist) {
      const top = dist[0];
      const rare = dist[dist.length - 1];
      if (top.count >= rare.count * IMBALANCE_RATIO) {
        const shown = dist.slice(0, 8).map((d) => `"${d.label}" ${d.count}`).join(', ');
        w.push({
          code: 'imbalance',
          message: `The final answers look like labels (short answers of ≤ ${MAX_LABEL_CHARS} characters) and are imbalanced: "${top.label}" appears ${top.count} times, "${rare.label}" only ${rare.count} (${shown}${dist.length > 8 ? ', …' : ''}). The ${u}s listed are those with the rarest label.`,
          lines: rare.lines,
          count: dist.length,
          ...located(rare),
        });
      }
    }
    add('pii_email', this.pii[0], `${this.pii[0].count} ${examplesVerb(this.pii[0].count, 'contains', 'contain')} what looks like an email address.`);
    add('pii_phone', this.pii[1], `${this.pii[1].count} ${examplesVerb(this.pii[1].count, 'contains', 'contain')} what looks like a phone number.`);
    add('pii_card', this.pii[2], `${this.pii[2].count} ${examplesVerb(this.pii[2].count, 'contains', 'contain')} what looks like a payment card number (passes the Luhn check).`);
    return w;
  }

  private dupsFullNote(): string {
    const d = this.dups as unknown as { full: boolean; skipped: number };
    return d.full ? ` (duplicate tracking was full: the last ${d.skipped} distinct examples were only compared with earlier ones)` : '';
  }
}

const examplesVerb = (n: number, one: string, many: string): string => (n === 1 ? `example ${one}` : `examples ${many}`);

/** A warning's link targets: the stored record of each listed line, and for CSV the line of the file each row starts on. */
const located = (l: { records: number[]; fileLines: number[] }): Pick<Warning, 'records' | 'fileLines'> => ({
  records: l.records,
  ...(l.fileLines.length ? { fileLines: l.fileLines } : {}),
});

/** "Row 3: …" → "Row 3 (line 7 of the file): …" for a CSV row whose cells span lines or follow blank lines. */
function withFileLine(detail: ErrorDetail, fileLine: number): ErrorDetail {
  const at = `Row ${detail.line}`;
  if (!detail.message.startsWith(`${at}:`)) return detail;
  return { ...detail, message: `${at} (line ${fileLine} of the file)${detail.message.slice(at.length)}` };
}

/** First offset of an invalid UTF-8 sequence in `b` (only called on lines known to be invalid). */
function invalidUtf8At(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > b.length || !isUtf8(b.subarray(i, i + n))) return i;
    i += n;
  }
  return b.length;
}

/** Splits decoded bytes into lines without holding more than `maxLineBytes` of any one line. */
async function readJsonl(chunks: AsyncIterable<Buffer>, ing: Ingestor, maxLineBytes: number, signal?: AbortSignal): Promise<void> {
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
    ing.lines = line;
    ing.jsonBytes(line, buf, start, end);
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
        ing.lines = line;
        const at = invalidUtf8At(b);
        ing.lineError({ line, message: `Line ${line}: invalid UTF-8 at byte ${at + 1} of the line (0x${b.subarray(at, at + 4).toString('hex')}); the file must be UTF-8 encoded.` });
      }
      pos = nl + 1;
    }
  };
  const tooLong = (): void => {
    line++;
    ing.lines = line;
    ing.lineError({ line, message: `Line ${line} is longer than ${maxLineBytes} bytes, the most one record may have; is the file JSONL (one JSON object per line)?` });
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
    await ing.flush();
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

function detectContainer(filename: string, head: Buffer, compression: Compression): Container {
  const name = filename.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '');
  if (compression === 'none' && isParquet(head)) return 'parquet';
  if (name.endsWith('.parquet')) {
    if (compression !== 'none') throw fail(`Compressed Parquet files are not supported: Parquet compresses its own columns; upload the .parquet file as it is.`);
    throw fail(`The file is named .parquet but does not start with the Parquet magic bytes "PAR1"; it is not a Parquet file.`);
  }
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'csv';
  return 'jsonl';
}

/**
 * Reads a staged local upload, validates it and writes the normalized JSONL the trainer reads to
 * `outputPath`. On any problem it throws a DomainError ('validation_failed' with the first
 * MAX_REPORTED_ERRORS line/field details and the total) and leaves no output file behind.
 */
export async function ingestDataset(inputPath: string, outputPath: string, opts: IngestOptions): Promise<IngestResult> {
  const started = performance.now();
  const baseModel = opts.baseModel ?? defaultBaseModel();
  const format = opts.format ?? 'auto';
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const limits = { maxBytes: opts.maxDecompressedBytes, maxRatio: opts.maxDecompressionRatio ?? DEFAULT_MAX_RATIO };
  const uploadedBytes = (await stat(inputPath)).size;
  const head = await readHead(inputPath, 64 << 10);
  const compression = sniffCompression(head);
  const container = detectContainer(opts.filename, head, compression);
  const { counter, availability } = await loadTokenCounter(baseModel);

  const fh = await open(outputPath, 'w');
  let ok = false;
  const bytes: ByteStats = { compressedBytes: 0, bytes: 0 };
  const hash = createHash('sha256');
  const ing = new Ingestor(format, counter, fh, opts.parseInKernel ?? true);
  let mapping: Mapping | null = null;
  let fileSha = '';
  try {
    if (container === 'parquet') {
      ing.unit = 'Row';
      await readParquet(
        inputPath,
        format,
        opts.columns,
        async (row, record, badJson) => {
          ing.lines = row;
          if (badJson) ing.lineError({ line: row, field: badJson, message: `Row ${row}: column "${mapping?.columns[badJson]}" (${badJson}) is not valid JSON.` });
          else ing.record(row, record, null);
          if (row % 1024 === 0) await ing.flush();
        },
        (m) => {
          mapping = m;
          ing.format = m.format;
        },
      );
      bytes.bytes = bytes.compressedBytes = uploadedBytes;
      fileSha = await sha256File(inputPath, opts.signal);
    } else if (compression === 'none') {
      // The hash of the bytes as uploaded comes from the same read that validates them.
      await readContainer(container, withTextCheck(tee(decodedChunks(inputPath, compression, bytes, limits, opts.signal), hash), compression));
      fileSha = hash.digest('hex');
    } else {
      const hashing = sha256File(inputPath, opts.signal);
      hashing.catch(() => undefined);
      await readContainer(container, withTextCheck(decodedChunks(inputPath, compression, bytes, limits, opts.signal), compression));
      fileSha = await hashing;
    }
    await ing.flush(true);
    if (ing.errorCount > 0) throw validationError(ing);
    if (ing.examples === 0) {
      throw fail(
        container === 'jsonl'
          ? 'The file contains no examples: it must have at least one JSON line (chat "messages", "prompt"/"completion" or "prompt"/"chosen"/"rejected").'
          : `The ${container === 'csv' ? 'CSV' : 'Parquet'} file contains no data rows.`,
      );
    }
    await fh.close();
    ok = true;
  } finally {
    if (!ok) {
      await fh.close().catch(() => undefined);
      await rm(outputPath, { force: true });
    }
  }

  const fmt = ing.format as DatasetFormat;
  const seconds = (performance.now() - started) / 1000;
  const report: DatasetReport = {
    format: fmt,
    examples: ing.examples,
    unit: ing.unit === 'Row' ? 'row' : 'line',
    warnings: ing.warnings(),
    stats: {
      lines: ing.lines,
      messages: ing.messages,
      characters: ing.characters,
      roles: ing.roles,
      toolCalls: ing.toolCalls,
      examplesWithTools: ing.examplesWithTools,
      excludedTurns: ing.excludedTurns,
      tokens: counter ? ing.tokenStats.summary() : null,
      tokenizer: counter?.fastPathNote ? { ...availability, note: counter.fastPathNote } : availability,
      labels: ing.labels.distribution()?.map(({ label, count }) => ({ label, count })) ?? null,
    },
  };
  const source: Record<string, unknown> = {
    filename: opts.filename,
    container,
    compression,
    ...(mapping ? { columns: (mapping as Mapping).columns } : {}),
    uploadedBytes,
    normalizedBytes: ing.normalizedBytes,
  };
  return {
    format: fmt,
    examples: ing.examples,
    sha256: fileSha,
    uploadedBytes,
    normalizedBytes: ing.normalizedBytes,
    source,
    report,
    parsedInKernel: ing.parsedInKernel,
    stats: {
      examples: ing.examples,
      lines: ing.lines,
      messages: ing.messages,
      assistant_messages: ing.roles.assistant ?? 0,
      characters: ing.characters,
      decompressed_bytes: bytes.bytes,
      ...(counter ? { tokens: ing.tokenStats.total, max_tokens: ing.tokenStats.max } : {}),
      validation_ms: Math.round(seconds * 1000),
      tokenizer_ms: Math.round(ing.tokenizerMs),
    },
  };

  async function readContainer(kind: Container, chunks: AsyncIterable<Buffer>): Promise<void> {
    if (kind === 'jsonl') return readJsonl(chunks, ing, maxLineBytes, opts.signal);
    ing.unit = 'Row';
    const delimiter = opts.filename.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '').endsWith('.tsv') ? '\t' : ',';
    await readCsv(
      utf8Checked(chunks),
      delimiter,
      (header) => {
        mapping = resolveMapping(header, format, opts.columns, 'CSV');
        ing.format = mapping.format;
        return mapping;
      },
      async (row, record, badJson, fileLine) => {
        ing.lines = row;
        ing.fileLine = fileLine;
        if (badJson) ing.lineError({ line: row, field: badJson, message: `Row ${row}: column "${mapping?.columns[badJson]}" (${badJson}) is not valid JSON.` });
        else ing.record(row, record, null);
        if (row % 1024 === 0) await ing.flush();
      },
    );
  }
}

/** Refuses binary content on the first decoded chunk. */
async function* withTextCheck(chunks: AsyncIterable<Buffer>, compression: Compression): AsyncGenerator<Buffer> {
  let first = true;
  for await (const c of chunks) {
    if (first) {
      first = false;
      assertText(c.subarray(0, 64 << 10), compression);
    }
    yield c;
  }
}

async function* tee(chunks: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const c of chunks) {
    hash.update(c);
    yield c;
  }
}

/** CSV text must be UTF-8: the line of the first invalid byte is named (csv-parse would replace it silently). */
async function* utf8Checked(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let tail = Buffer.alloc(0);
  let line = 1;
  for await (const c of chunks) {
    const buf = tail.length ? Buffer.concat([tail, c]) : c;
    // Keep an incomplete trailing sequence for the next chunk.
    let cut = buf.length;
    for (let k = 1; k <= 3 && k <= buf.length; k++) {
      const b = buf[buf.length - k];
      if (b >= 0xc0) {
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (need > k) cut = buf.length - k;
        break;
      }
      if (b < 0x80) break;
    }
    const body = buf.subarray(0, cut);
    if (!isUtf8(body)) {
      const at = invalidUtf8At(body);
      let l = line;
      for (let p = body.indexOf(10); p >= 0 && p < at; p = body.indexOf(10, p + 1)) l++;
      throw fail(`Line ${l} of the CSV file: invalid UTF-8 (byte 0x${body[at].toString(16)}); the file must be UTF-8 encoded.`);
    }
    for (let p = body.indexOf(10); p >= 0; p = body.indexOf(10, p + 1)) line++;
    tail = Buffer.from(buf.subarray(cut));
    // A copy: csv-parse may queue the chunk, and the reader reuses its buffers.
    yield Buffer.from(body);
  }
  if (tail.length) throw fail(`The CSV file ends in the middle of a UTF-8 character (line ${line}); it may be truncated.`);
}

async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20, signal })) h.update(c as Buffer);
  return h.digest('hex');
}

function validationError(ing: Ingestor): DomainError {
  const first = ing.errors[0];
  const more =
    ing.errorCount > 1 ? ` (${ing.errorCount} errors on ${ing.errorLines} ${ing.unit.toLowerCase()}${ing.errorLines === 1 ? '' : 's'} in total; the first ${ing.errors.length} are listed)` : '';
  return new DomainError('validation_failed', `Invalid file format. ${first.message}${more}`, { param: 'file', details: ing.errors });
}
