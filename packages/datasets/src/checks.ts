import { DomainError, detectRecordFormat, recordCheckers, type DatasetFormat, type ErrorDetail, type RecordUnit } from '@edgetune/contracts';

export const MAX_REPORTED_ERRORS = 20;

type Obj = Record<string, unknown>;

/**
 * The record checks of one upload: the dataset format (given, from the column mapping, or
 * detected from the first record) and every record's fields against it. Keeps the first
 * MAX_REPORTED_ERRORS errors and the totals; any error rejects the whole file.
 */
export class RecordChecks {
  private fmt: DatasetFormat | null;
  /** The line or row the format was detected from (0: given). */
  private formatFrom = 0;
  private readonly errors: ErrorDetail[] = [];
  private errorCount = 0;
  private errorLines = 0;
  private readonly scratch: ErrorDetail[] = [];

  constructor(
    format: DatasetFormat | 'auto',
    /** What records are: JSONL lines, or CSV/Parquet data rows. */
    readonly unit: RecordUnit,
  ) {
    this.fmt = format === 'auto' ? null : format;
  }

  /** The dataset format, once given or detected. */
  get format(): DatasetFormat | null {
    return this.fmt;
  }

  /** No record has failed so far. */
  get ok(): boolean {
    return this.errorCount === 0;
  }

  /** The format a CSV/Parquet column mapping resolved to. */
  useFormat(format: DatasetFormat): void {
    this.fmt = format;
  }

  /** A record the text kernel parsed as chat: a file without a format yet becomes chat from `line` on. */
  parsedChat(line: number): void {
    if (this.fmt === null) {
      this.fmt = 'chat';
      this.formatFrom = line;
    }
  }

  /**
   * Checks one record (`fileLine`: for CSV, the line of the file where the row starts, else 0);
   * its format when it passes, else null with its errors recorded.
   */
  check(line: number, rec: unknown, fileLine: number): DatasetFormat | null {
    const at = `${this.unit} ${line}`;
    let format = this.fmt;
    const seen = detectRecordFormat(rec);
    if (format === null) {
      if (seen === null) {
        const keys = rec !== null && typeof rec === 'object' && !Array.isArray(rec) ? Object.keys(rec as Obj) : [];
        this.lineError(
          {
            line,
            message: `${at}: cannot tell the dataset format: expected "messages" (chat), "prompt" + "completion", or "prompt" + "chosen" + "rejected"; found ${keys.length ? `keys ${keys.map((k) => `"${k}"`).join(', ')}` : JSON.stringify(rec)?.slice(0, 60)}.`,
          },
          fileLine,
        );
        return null;
      }
      format = this.fmt = seen;
      this.formatFrom = line;
    } else if (seen !== null && seen !== format) {
      const from = this.formatFrom ? ` (detected from ${this.unit.toLowerCase()} ${this.formatFrom})` : '';
      this.lineError({ line, message: `${at}: this is a ${seen} record, but the file is ${format}${from}; all records must have the same format.` }, fileLine);
      return null;
    }
    const errs = this.scratch;
    errs.length = 0;
    recordCheckers[format](rec, line, errs, this.unit);
    if (errs.length) {
      this.errorLines++;
      for (const e of errs) this.error(e, fileLine);
      return null;
    }
    return format;
  }

  /** A line or row that is wrong as a whole (not JSON, not UTF-8, too long, a bad cell). */
  lineError(detail: ErrorDetail, fileLine = 0): void {
    this.errorLines++;
    this.error(detail, fileLine);
  }

  private error(detail: ErrorDetail, fileLine: number): void {
    this.errorCount++;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(fileLine > 0 ? withFileLine(detail, fileLine) : detail);
  }

  /** The refusal of a file with errors: the first one, the totals, and the first MAX_REPORTED_ERRORS as details. */
  failure(): DomainError {
    const first = this.errors[0];
    const more =
      this.errorCount > 1
        ? ` (${this.errorCount} errors on ${this.errorLines} ${this.unit.toLowerCase()}${this.errorLines === 1 ? '' : 's'} in total; the first ${this.errors.length} are listed)`
        : '';
    return new DomainError('validation_failed', `Invalid file format. ${first.message}${more}`, { param: 'file', details: this.errors });
  }
}

/** "Row 3: …" → "Row 3 (line 7 of the file): …" for a CSV row whose cells span lines or follow blank lines. */
function withFileLine(detail: ErrorDetail, fileLine: number): ErrorDetail {
  const at = `Row ${detail.line}`;
  if (!detail.message.startsWith(`${at}:`)) return detail;
  return { ...detail, message: `${at} (line ${fileLine} of the file)${detail.message.slice(at.length)}` };
}
