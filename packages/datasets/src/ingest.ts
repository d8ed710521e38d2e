import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { baseModels, type DatasetFormat, type DatasetReport, type DatasetSource, type DatasetStats } from '@edgetune/contracts';
import { RecordChecks } from './checks';
import { readJsonl, type JsonlSink } from './jsonl';
import { NormalizedOutput } from './output';
import { DEFAULT_MAX_RATIO, decodedChunks, fail, isParquet, readHead, sha256File, sniffCompression, tee, utf8Checked, withTextCheck, type ByteStats, type Compression, type Container } from './source';
import { DatasetStatistics } from './statistics';
import { readCsv, readParquet, resolveMapping, type Mapping } from './tabular';
import { TextKernel } from './text-kernel';
import { loadTokenCounter, type TokenCounter } from './tokens';

export { MAX_REPORTED_ERRORS } from './checks';
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

export interface IngestResult {
  format: DatasetFormat;
  examples: number;
  /** Of the bytes as uploaded. */
  sha256: string;
  uploadedBytes: number;
  normalizedBytes: number;
  source: DatasetSource;
  report: DatasetReport;
  stats: DatasetStats;
  /** JSONL lines parsed by the text kernel rather than JSON.parse (see IngestOptions.parseInKernel). */
  parsedInKernel: number;
}

const defaultBaseModel = (): string => baseModels.find((m) => m.builtin)?.id ?? baseModels[0].id;

const chatTopKeys = new Set(['messages', 'tools', 'parallel_tool_calls']);
type Obj = Record<string, unknown>;

/**
 * One upload's records on their way through: each JSONL line or table row is checked
 * (RecordChecks), analysed (DatasetStatistics) and written normalized (NormalizedOutput). Chat
 * lines of the common shape are parsed by the text kernel, the others by JSON.parse.
 */
class Ingestion implements JsonlSink {
  /** The last line or row that held a record (or was refused). */
  lines = 0;
  /** Lines parsed by the kernel, not JSON.parse. */
  parsedInKernel = 0;

  constructor(
    readonly checks: RecordChecks,
    readonly stats: DatasetStatistics,
    readonly output: NormalizedOutput,
    /** The kernel that parses chat lines: the statistics' (and counter's), so a parse's fingerprint is theirs. */
    private readonly kernel: TextKernel,
    private readonly counter: TokenCounter | null,
    private readonly kernelParsing: boolean,
  ) {}

  line(line: number, bytes: Buffer, start: number, end: number): void {
    this.lines = line;
    const format = this.checks.format;
    if (
      this.kernelParsing &&
      end - start <= KERNEL_PARSE_MAX_BYTES &&
      (format === 'chat' || format === null) &&
      (this.counter === null || this.counter.countsParsed) &&
      this.parsedChat(line, bytes, start, end)
    ) {
      return;
    }
    const text = bytes.toString('utf8', start, end);
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (e) {
      this.checks.lineError({ line, message: `Line ${line}: invalid JSON (${(e as Error).message}).` });
      return;
    }
    this.record(line, 0, rec, bytes, start, end);
  }

  badLine(line: number, message: string): void {
    this.lines = line;
    this.checks.lineError({ line, message });
  }

  /** A CSV or Parquet data row (`fileLine`: for CSV, the line of the file where it starts, else 0). */
  row(row: number, fileLine: number, record: Obj, badJson: string | null, mapping: Mapping): void {
    this.lines = row;
    if (badJson) this.checks.lineError({ line: row, field: badJson, message: `Row ${row}: column "${mapping.columns[badJson]}" (${badJson}) is not valid JSON.` }, fileLine);
    else this.record(row, fileLine, record, null, 0, 0);
  }

  /** A chat line of the common shape taken from the kernel's parse; false, with nothing recorded, for any other line. */
  private parsedChat(line: number, bytes: Buffer, start: number, end: number): boolean {
    const chat = this.kernel.parseChat(bytes, start, end, this.counter ? this.counter.leadCode : -1);
    if (chat === null || !this.stats.parsedChat(line, chat)) return false;
    this.checks.parsedChat(line);
    this.parsedInKernel++;
    if (this.checks.ok) this.output.copy(bytes, start, end);
    return true;
  }

  /** A parsed record; `raw` holds a JSONL line's bytes at [start, end), null for a table row. */
  private record(line: number, fileLine: number, rec: unknown, raw: Buffer | null, start: number, end: number): void {
    const format = this.checks.check(line, rec, fileLine);
    if (format === null) return;
    const r = rec as Obj;
    // null: the line goes out as the bytes it came in.
    let out: string | null;
    if (format === 'chat') {
      let canonical = raw !== null;
      if (canonical) for (const k in r) if (!chatTopKeys.has(k)) canonical = false;
      out = canonical
        ? null
        : JSON.stringify({ messages: r.messages, ...(r.tools !== undefined ? { tools: r.tools } : {}), ...(r.parallel_tool_calls !== undefined ? { parallel_tool_calls: r.parallel_tool_calls } : {}) });
      this.stats.chat(line, fileLine, r.messages as Obj[], (r.tools as unknown[] | undefined) ?? null);
    } else if (format === 'prompt_completion') {
      const messages = [
        { role: 'user', content: r.prompt as string },
        { role: 'assistant', content: r.completion as string },
      ];
      out = JSON.stringify({ messages });
      this.stats.chat(line, fileLine, messages, null);
    } else {
      out = JSON.stringify({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected });
      this.stats.preference(line, fileLine, r);
    }
    if (this.checks.ok) {
      if (out === null) this.output.copy(raw as Buffer, start, end);
      else this.output.line(out);
    }
  }

  /** Writes the output gathered so far (none once a record has failed: the file is refused). */
  async flush(force = false): Promise<void> {
    if (!this.checks.ok) this.output.discard();
    else await this.output.flush(force);
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

/** Where an upload's bytes come from: a staged file, or a stream whose first bytes were read ahead. */
type Source = { path: string } | { head: Buffer; chunks: AsyncIterable<Buffer> };

/** Where the normalized JSONL goes; `write` must be done with `buf` when it resolves (the buffer is reused). */
interface Sink {
  write(buf: Buffer, n: number): Promise<void>;
}

const HEAD_BYTES = 64 << 10;

/** A Buffer over the same bytes (no copy). */
const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/**
 * The engine's entry point: an upload's bytes in (`input`), validated record by record; the
 * normalized JSONL the trainer reads out (`output`, ended on success); a typed result back. On any
 * problem it throws a DomainError ('validation_failed' with the first MAX_REPORTED_ERRORS
 * line/field details and the total) and destroys `output`: what `output` received must then be
 * discarded. The input streams through once, except a Parquet file: it is read from its
 * end, so it is spooled to a temporary file first (removed afterwards).
 */
export async function ingest(input: AsyncIterable<Uint8Array>, output: Writable, opts: IngestOptions): Promise<IngestResult> {
  const sink: Sink = {
    async write(buf, n) {
      // A copy: the writable may hold on to it after write() returns.
      if (!output.write(Buffer.from(buf.subarray(0, n)))) await once(output, 'drain');
    },
  };
  let spool: string | null = null;
  try {
    const it = input[Symbol.asyncIterator]();
    const first: Buffer[] = [];
    let have = 0;
    let ended = false;
    while (have < HEAD_BYTES) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const b = asBuffer(r.value);
      first.push(b);
      have += b.length;
    }
    const head = Buffer.concat(first).subarray(0, HEAD_BYTES);
    async function* all(): AsyncGenerator<Buffer> {
      yield* first;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield asBuffer(r.value);
    }
    let result: IngestResult;
    if (sniffCompression(head) === 'none' && isParquet(head)) {
      const dir = await mkdtemp(path.join(tmpdir(), 'edgetune-parquet-'));
      spool = dir;
      const file = path.join(dir, 'upload.parquet');
      await pipeline(Readable.from(all(), { objectMode: false }), createWriteStream(file), { signal: opts.signal });
      result = await ingestSource({ path: file }, sink, opts);
    } else {
      result = await ingestSource({ head, chunks: all() }, sink, opts);
    }
    output.end();
    if (!output.writableFinished) await once(output, 'finish');
    return result;
  } catch (e) {
    // Not with the error: it is this promise's, and a writable without an 'error' listener would
    // turn it into an uncaught exception.
    output.destroy();
    throw e;
  } finally {
    if (spool) await rm(spool, { recursive: true, force: true });
  }
}

/**
 * `ingest` from a staged file to a file: the same checks and result, with the file read by a
 * double-buffered reader and no output file left behind on failure.
 */
export async function ingestDataset(inputPath: string, outputPath: string, opts: IngestOptions): Promise<IngestResult> {
  const fh = await open(outputPath, 'w');
  let ok = false;
  try {
    const result = await ingestSource({ path: inputPath }, { write: async (buf, n) => void (await fh.write(buf, 0, n)) }, opts);
    await fh.close();
    ok = true;
    return result;
  } finally {
    if (!ok) {
      await fh.close().catch(() => undefined);
      await rm(outputPath, { force: true });
    }
  }
}

async function ingestSource(src: Source, sink: Sink, opts: IngestOptions): Promise<IngestResult> {
  const started = performance.now();
  const baseModel = opts.baseModel ?? defaultBaseModel();
  const format = opts.format ?? 'auto';
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const limits = { maxBytes: opts.maxDecompressedBytes, maxRatio: opts.maxDecompressionRatio ?? DEFAULT_MAX_RATIO };
  const head = 'path' in src ? await readHead(src.path, HEAD_BYTES) : src.head;
  const compression = sniffCompression(head);
  const container = detectContainer(opts.filename, head, compression);
  const { counter, availability } = await loadTokenCounter(baseModel);

  const bytes: ByteStats = { compressedBytes: 0, bytes: 0 };
  const hash = createHash('sha256');
  const kernel = counter?.kernel ?? new TextKernel();
  const ing = new Ingestion(
    new RecordChecks(format, container === 'jsonl' ? 'Line' : 'Row'),
    new DatasetStatistics(kernel, counter),
    new NormalizedOutput(sink),
    kernel,
    counter,
    opts.parseInKernel ?? true,
  );
  let mapping: Mapping | null = null;
  let fileSha = '';
  let uploadedBytes = 0;
  if ('path' in src) {
    uploadedBytes = (await stat(src.path)).size;
    if (container === 'parquet') {
      await readParquet(
        src.path,
        format,
        opts.columns,
        async (row, record, badJson) => {
          ing.row(row, 0, record, badJson, mapping as Mapping);
          if (row % 1024 === 0) await ing.flush();
        },
        (m) => {
          mapping = m;
          ing.checks.useFormat(m.format);
        },
      );
      bytes.bytes = bytes.compressedBytes = uploadedBytes;
      fileSha = await sha256File(src.path, opts.signal);
    } else if (compression === 'none') {
      // The hash of the bytes as uploaded comes from the same read that validates them.
      await readContainer(container, withTextCheck(tee(decodedChunks(src.path, compression, bytes, limits, opts.signal), hash), compression));
      fileSha = hash.digest('hex');
    } else {
      const hashing = sha256File(src.path, opts.signal);
      hashing.catch(() => undefined);
      await readContainer(container, withTextCheck(decodedChunks(src.path, compression, bytes, limits, opts.signal), compression));
      fileSha = await hashing;
    }
  } else {
    // A stream is hashed as it arrives, before any decompression.
    await readContainer(container, withTextCheck(decodedChunks(tee(src.chunks, hash), compression, bytes, limits, opts.signal), compression));
    fileSha = hash.digest('hex');
    uploadedBytes = bytes.compressedBytes;
  }
  await ing.flush(true);
  if (!ing.checks.ok) throw ing.checks.failure();
  if (ing.stats.examples === 0) {
    throw fail(
      container === 'jsonl'
        ? 'The file contains no examples: it must have at least one JSON line (chat "messages", "prompt"/"completion" or "prompt"/"chosen"/"rejected").'
        : `The ${container === 'csv' ? 'CSV' : 'Parquet'} file contains no data rows.`,
    );
  }

  const fmt = ing.checks.format as DatasetFormat;
  const examples = ing.stats.examples;
  const normalizedBytes = ing.output.bytes;
  const seconds = (performance.now() - started) / 1000;
  const report: DatasetReport = {
    format: fmt,
    examples,
    unit: ing.checks.unit === 'Row' ? 'row' : 'line',
    warnings: ing.stats.warnings(ing.checks.unit),
    stats: ing.stats.reportStats(ing.lines, counter?.fastPathNote ? { ...availability, note: counter.fastPathNote } : availability),
  };
  const source: DatasetSource = {
    filename: opts.filename,
    container,
    compression,
    ...(mapping ? { columns: (mapping as Mapping).columns } : {}),
    uploadedBytes,
    normalizedBytes,
  };
  return {
    format: fmt,
    examples,
    sha256: fileSha,
    uploadedBytes,
    normalizedBytes,
    source,
    report,
    parsedInKernel: ing.parsedInKernel,
    stats: {
      examples,
      lines: ing.lines,
      ...ing.stats.totals(),
      decompressed_bytes: bytes.bytes,
      validation_ms: Math.round(seconds * 1000),
      tokenizer_ms: Math.round(ing.stats.tokenizerMs),
    },
  };

  async function readContainer(kind: Container, chunks: AsyncIterable<Buffer>): Promise<void> {
    if (kind === 'jsonl') return readJsonl(chunks, ing, maxLineBytes, opts.signal);
    const delimiter = opts.filename.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '').endsWith('.tsv') ? '\t' : ',';
    await readCsv(
      utf8Checked(chunks),
      delimiter,
      (header) => {
        mapping = resolveMapping(header, format, opts.columns, 'CSV');
        ing.checks.useFormat(mapping.format);
        return mapping;
      },
      async (row, record, badJson, fileLine) => {
        ing.row(row, fileLine, record, badJson, mapping as Mapping);
        if (row % 1024 === 0) await ing.flush();
      },
    );
  }
}
