import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { DatasetFormat } from '@edgetune/contracts';
import { fail } from './source';

/**
 * CSV and Parquet rows → records, through a column mapping (target field → source column).
 * Cells holding conversations (`messages`, or preference sides written as message arrays) are
 * JSON text in CSV and either JSON text or nested values in Parquet.
 */

export const mappingTargets: Record<DatasetFormat, { required: string[]; optional: string[] }> = {
  chat: { required: ['messages'], optional: ['tools'] },
  prompt_completion: { required: ['prompt', 'completion'], optional: [] },
  preference: { required: ['prompt', 'chosen', 'rejected'], optional: [] },
};

/** Largest uncompressed Parquet row group read at once (memory bound). */
export const MAX_ROW_GROUP_BYTES = 256 << 20;
/** Largest CSV record (all its cells). */
export const MAX_CSV_RECORD_BYTES = 16 << 20;

export interface Mapping {
  format: DatasetFormat;
  /** target field → source column */
  columns: Record<string, string>;
}

/**
 * Resolves the mapping for a header: the one given, or the header's own names when they are the
 * target fields. Errors name the missing column and list the header.
 */
export function resolveMapping(header: string[], format: DatasetFormat | 'auto', given: Record<string, string> | undefined, kind: 'CSV' | 'Parquet'): Mapping {
  const list = header.map((h) => JSON.stringify(h)).join(', ');
  if (given && Object.keys(given).length) {
    const keys = Object.keys(given);
    const fmt: DatasetFormat | null =
      format !== 'auto' ? format : keys.includes('messages') ? 'chat' : keys.includes('chosen') || keys.includes('rejected') ? 'preference' : keys.includes('completion') ? 'prompt_completion' : null;
    if (!fmt) throw fail(`The column mapping ${JSON.stringify(given)} does not map to any format: map "messages" (chat), "prompt" + "completion", or "prompt" + "chosen" + "rejected".`, 'columns');
    const t = mappingTargets[fmt];
    for (const k of keys) {
      if (!t.required.includes(k) && !t.optional.includes(k)) {
        throw fail(`The column mapping names "${k}", which is not a field of the ${fmt} format (fields: ${[...t.required, ...t.optional].join(', ')}).`, 'columns');
      }
    }
    for (const k of t.required) {
      if (!given[k]) throw fail(`The column mapping must say which column holds "${k}" for the ${fmt} format.`, 'columns');
    }
    for (const [k, col] of Object.entries(given)) {
      if (!header.includes(col)) throw fail(`Column "${col}" (mapped to ${k}) is not in the ${kind} header; the header has: ${list}.`, 'columns');
    }
    return { format: fmt, columns: { ...given } };
  }
  const lower = new Map(header.map((h) => [h.trim().toLowerCase(), h]));
  const candidates: DatasetFormat[] = format !== 'auto' ? [format] : ['chat', 'preference', 'prompt_completion'];
  for (const fmt of candidates) {
    const t = mappingTargets[fmt];
    if (t.required.every((k) => lower.has(k))) {
      const columns: Record<string, string> = {};
      for (const k of [...t.required, ...t.optional]) if (lower.has(k)) columns[k] = lower.get(k) as string;
      return { format: fmt, columns };
    }
  }
  if (format !== 'auto') {
    const missing = mappingTargets[format].required.filter((k) => !lower.has(k));
    throw fail(`The ${kind} file has no column ${missing.map((m) => `"${m}"`).join(', ')} for the ${format} format; the header has: ${list}. Choose a column mapping, e.g. {"${missing[0]}": "<column>"}.`, 'columns');
  }
  throw fail(
    `The ${kind} columns do not match a format; the header has: ${list}. Name columns "messages", "prompt"+"completion" or "prompt"+"chosen"+"rejected", or choose a column mapping such as {"prompt": "question", "completion": "answer"}.`,
    'columns',
  );
}

const conversationFields = new Set(['messages', 'tools']);

/** A cell value as the record field: conversations are parsed from JSON text; strings stay strings. */
function cellValue(field: string, v: unknown, format: DatasetFormat): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'string') return v === null ? undefined : v;
  if (conversationFields.has(field) || (format === 'preference' && v.trimStart().startsWith('[{'))) {
    try {
      return JSON.parse(v);
    } catch {
      return conversationFields.has(field) ? new InvalidJsonCell(v) : v;
    }
  }
  return v;
}

/** A cell that should have been JSON; the record check reports it with the field name. */
export class InvalidJsonCell {
  constructor(readonly text: string) {}
}

export function rowToRecord(mapping: Mapping, get: (column: string) => unknown): { record: Record<string, unknown>; badJson: string | null } {
  const record: Record<string, unknown> = {};
  let badJson: string | null = null;
  for (const [field, column] of Object.entries(mapping.columns)) {
    const v = cellValue(field, get(column), mapping.format);
    if (v instanceof InvalidJsonCell) badJson ??= field;
    else if (v !== undefined) record[field] = v;
  }
  return { record, badJson };
}

/** Line breaks inside a cell as an editor counts them: \r\n, \n and a lone \r once each. */
function lineBreaks(cell: string): number {
  let n = 0;
  for (let i = cell.indexOf('\n'); i >= 0; i = cell.indexOf('\n', i + 1)) n++;
  for (let i = cell.indexOf('\r'); i >= 0; i = cell.indexOf('\r', i + 1)) if (cell.charCodeAt(i + 1) !== 10) n++;
  return n;
}

/**
 * CSV rows from decoded text chunks. The first record is the header; `onRow` gets the 1-based
 * data row number (blank lines are not rows), the row's cells by column name, and the line of
 * the file where the row starts (a quoted cell may span lines).
 */
export async function readCsv(
  chunks: AsyncIterable<Buffer>,
  delimiter: string,
  onHeader: (header: string[]) => Mapping,
  onRow: (row: number, record: Record<string, unknown>, badJson: string | null, fileLine: number) => Promise<void> | void,
): Promise<void> {
  // Blank lines come through as [''] and the field count is checked here: the parser's own
  // skipping would hide them from the line count (its running count is ahead of the records
  // read, and asking it per record costs as much as the parsing).
  const parser = parse({ delimiter, bom: true, max_record_size: MAX_CSV_RECORD_BYTES, skip_empty_lines: false, relax_column_count: true, relax_quotes: false });
  let mapping: Mapping | null = null;
  let index: Map<string, number> | null = null;
  let width = 0;
  let row = 0;
  /** The line of the file where the next record starts. */
  let nextLine = 1;
  const feed = (async () => {
    try {
      for await (const c of chunks) {
        if (parser.destroyed) break; // the reader stopped (bad header, bad row): stop reading the file
        if (!parser.write(c)) {
          // Whichever comes first removes both listeners (else one per wait piles up on the parser).
          await new Promise<void>((r) => {
            const go = (): void => {
              parser.off('drain', go);
              parser.off('close', go);
              r();
            };
            parser.once('drain', go);
            parser.once('close', go);
          });
        }
      }
      // Let the reader take every record parsed so far first: an error raised by end() (a quote
      // left open) would otherwise overtake them, and the row it names would depend on timing.
      while (!parser.destroyed && parser.readableLength > 0) await new Promise((r) => setImmediate(r));
      if (!parser.destroyed) parser.end();
    } catch (e) {
      parser.destroy(e as Error);
    }
  })();
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      const line = nextLine;
      nextLine++;
      for (let i = 0; i < cells.length; i++) if (cells[i].length) nextLine += lineBreaks(cells[i]);
      // A blank line (with a one-column header, a lone "" reads the same and is skipped too).
      if (cells.length === 1 && cells[0] === '') continue;
      if (!mapping) {
        mapping = onHeader(cells);
        index = new Map(cells.map((h, i) => [h, i]));
        width = cells.length;
        continue;
      }
      row++;
      if (cells.length !== width) {
        throw fail(`CSV row ${row} (line ${line} of the file): ${cells.length} field${cells.length === 1 ? '' : 's'}, but the header has ${width}; a cell holding the delimiter or a line break must be quoted.`);
      }
      const { record, badJson } = rowToRecord(mapping, (col) => cells[(index as Map<string, number>).get(col) as number]);
      await onRow(row, record, badJson, line);
    }
  } catch (e) {
    const err = e as Error & { code?: string; lines?: number };
    if (err.code && err.code.startsWith('CSV_')) {
      throw fail(`CSV row ${row + 1} (line ${err.lines ?? '?'} of the file): ${err.message.replace(/^Invalid [^:]*: /, '')}`);
    }
    throw e;
  } finally {
    parser.destroy();
    await feed;
  }
  if (!mapping) throw fail('The CSV file is empty: it has no header row.');
}

/** Parquet rows, one row group at a time so memory is bounded by the largest group. */
export async function readParquet(
  path: string,
  format: DatasetFormat | 'auto',
  given: Record<string, string> | undefined,
  onRow: (row: number, record: Record<string, unknown>, badJson: string | null) => Promise<void> | void,
  onMapping: (m: Mapping) => void,
): Promise<void> {
  const file = await asyncBufferFromFile(path);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw fail(`The Parquet file cannot be read (${(e as Error).message}); it may be truncated or corrupt.`);
  }
  const header = parquetSchema(metadata).children.map((c) => c.element.name);
  const mapping = resolveMapping(header, format, given, 'Parquet');
  onMapping(mapping);
  const columns = [...new Set(Object.values(mapping.columns))];
  let start = 0;
  for (let g = 0; g < metadata.row_groups.length; g++) {
    const rg = metadata.row_groups[g];
    const n = Number(rg.num_rows);
    if (Number(rg.total_byte_size) > MAX_ROW_GROUP_BYTES) {
      throw fail(
        `Parquet row group ${g + 1} holds ${Number(rg.total_byte_size)} bytes uncompressed, over the ${MAX_ROW_GROUP_BYTES}-byte limit; write the file with smaller row groups (e.g. row_group_size=10000).`,
      );
    }
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, columns, rowStart: start, rowEnd: start + n });
    } catch (e) {
      throw fail(`Parquet rows ${start + 1}–${start + n} cannot be read (${(e as Error).message}); the file may be corrupt.`);
    }
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const { record, badJson } = rowToRecord(mapping, (col) => r[col]);
      await onRow(start + i + 1, record, badJson);
    }
    start += n;
  }
}
