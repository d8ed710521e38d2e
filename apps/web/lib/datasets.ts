/**
 * The portal's reading of a dataset version's stored validation report (`files.report`, typed
 * and checked by its contracts schema where the api reads it): warnings with links into the
 * stored file, and the statistics in the order the pages show them.
 */
import type { DatasetContainer, DatasetFormat, DatasetReport, TokenSummary } from '@edgetune/contracts';

export type { DatasetFormat } from '@edgetune/contracts';

export const formatLabels: Record<string, string> = {
  chat: 'Chat',
  prompt_completion: 'Prompt / completion',
  preference: 'Preference',
};

/** One line (JSONL) or row (CSV/Parquet) a warning lists, and where it is in the stored file. */
export interface WarningLink {
  /** The number the report names: a line of the uploaded JSONL, or a data row (1 = first after a CSV header). */
  at: number;
  /** The record it became in the stored file: the preview's numbering, what the link opens. */
  record: number;
  /** CSV: the line of the file where the row starts. */
  fileLine: number | null;
}

export interface ReportWarning {
  code: string;
  message: string;
  count: number;
  links: WarningLink[];
}

/** What a report's numbers count: lines of an uploaded JSONL, or rows of a CSV/Parquet table. */
export type ReportUnit = NonNullable<DatasetReport['unit']>;

export interface ReadReport {
  format: DatasetFormat | null;
  examples: number | null;
  unit: ReportUnit;
  warnings: ReportWarning[];
  /**
   * A JSONL report from before records were stored with its warnings: each link assumes line N
   * is record N, which is off by the blank lines above it.
   */
  approximateLinks: boolean;
  tokens: TokenSummary | null;
  tokenizer: { baseModel: string | null; available: boolean; reason: string | null } | null;
  /** The other numeric statistics (messages, characters, …), for the totals table. */
  totals: [string, number][];
  /** Turns per role (system, user, assistant, tool). */
  roles: [string, number][];
  /** How often each final answer occurs (label balance of classification-like data), most frequent first. */
  labels: [string, number][];
}

const roleOrder = ['system', 'user', 'assistant', 'tool'];
const roleRank = (r: string) => (roleOrder.includes(r) ? roleOrder.indexOf(r) : roleOrder.length);

/**
 * `container` (the version's `source.container`) tells the unit of a report older than its
 * `unit` field: CSV and Parquet reports always named data rows.
 */
export function readReport(report: DatasetReport | null, container?: DatasetContainer | null): ReadReport {
  const unit: ReportUnit = report?.unit ?? (container === 'csv' || container === 'parquet' ? 'row' : 'line');
  let approximateLinks = false;
  const warnings: ReportWarning[] = (report?.warnings ?? []).map((w) => {
    const records = w.records && w.records.length === w.lines.length ? w.records : null;
    const fileLines = w.fileLines && w.fileLines.length === w.lines.length ? w.fileLines : null;
    // Without stored records, rows are still exact (every data row is a record: blank lines
    // are not rows and a bad row rejects the file); JSONL lines are not.
    if (!records && unit === 'line' && w.lines.length > 0) approximateLinks = true;
    const links = w.lines.map((at, i) => ({ at, record: records ? records[i] : at, fileLine: fileLines ? fileLines[i] : null }));
    return { code: w.code, message: w.message, count: w.count, links };
  });
  const stats = report?.stats;
  const tk = stats?.tokenizer;
  const totals: [string, number][] = stats ? Object.entries(stats).flatMap(([k, v]) => (typeof v === 'number' ? [[k, v] as [string, number]] : [])) : [];
  return {
    format: report?.format ?? null,
    examples: report?.examples ?? null,
    unit,
    warnings,
    approximateLinks,
    tokens: stats?.tokens ?? null,
    tokenizer: tk ? { baseModel: tk.baseModel, available: tk.available, reason: tk.reason ?? null } : null,
    totals,
    roles: Object.entries(stats?.roles ?? {}).sort((a, b) => roleRank(a[0]) - roleRank(b[0])),
    labels: (stats?.labels ?? []).map((l) => [l.label, l.count] as [string, number]).sort((a, b) => b[1] - a[1]),
  };
}

/** "messages" → "Messages", "totalTokens" / "total_tokens" → "Total tokens". */
export function statLabel(key: string): string {
  const words = key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The target fields a CSV / Parquet column mapping fills, per record format. */
export const mappingTargets: Record<DatasetFormat, { field: string; hint: string; guesses: string[]; optional?: boolean }[]> = {
  chat: [
    { field: 'messages', hint: 'the conversation as a JSON array of messages', guesses: ['messages', 'conversation', 'conversations', 'chat'] },
    { field: 'tools', hint: 'optional: the tool definitions (JSON)', guesses: ['tools', 'functions'], optional: true },
  ],
  prompt_completion: [
    { field: 'prompt', hint: 'the input text', guesses: ['prompt', 'question', 'input', 'instruction', 'query', 'text'] },
    { field: 'completion', hint: 'the text the model should answer', guesses: ['completion', 'answer', 'output', 'response', 'target', 'label'] },
  ],
  preference: [
    { field: 'prompt', hint: 'the input text', guesses: ['prompt', 'question', 'input', 'instruction'] },
    { field: 'chosen', hint: 'the preferred answer', guesses: ['chosen', 'preferred', 'accepted', 'good'] },
    { field: 'rejected', hint: 'the worse answer', guesses: ['rejected', 'dispreferred', 'bad'] },
  ],
};

/** Which format a table with these columns most likely holds (for "auto"). */
export function guessFormat(columns: string[]): DatasetFormat {
  const has = (n: string) => columns.some((c) => c.toLowerCase() === n);
  if (has('chosen') && has('rejected')) return 'preference';
  if (has('messages') || has('conversation') || has('conversations')) return 'chat';
  return 'prompt_completion';
}

/** The mapping a human would pick first: for each target field the first column whose name matches one of its guesses. */
export function guessMapping(format: DatasetFormat, columns: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of mappingTargets[format]) {
    const hit = t.guesses.map((g) => columns.find((c) => c.toLowerCase() === g)).find((c) => c !== undefined);
    if (hit) out[t.field] = hit;
  }
  return out;
}

/** The container a file name says it is, ignoring a compression suffix. */
export function containerOf(name: string): 'csv' | 'parquet' | 'jsonl' {
  const n = name.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '');
  if (n.endsWith('.csv') || n.endsWith('.tsv')) return 'csv';
  if (n.endsWith('.parquet') || n.endsWith('.pq')) return 'parquet';
  return 'jsonl';
}

/** Splits one CSV record (RFC 4180 quoting) into its fields. */
export function parseCsvLine(line: string, delimiter = ','): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delimiter) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** The first record of a CSV text (a quoted header may span lines), without a BOM. */
export function csvHeader(text: string, delimiter = ','): string[] {
  const t = text.replace(/^\uFEFF/, '');
  let quoted = false;
  let end = t.length;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) {
      end = i;
      break;
    }
  }
  return parseCsvLine(t.slice(0, end), delimiter).filter((c) => c.length > 0);
}

/** The header of a CSV (or gzip-compressed CSV) file, read from its first bytes in the browser. */
export async function readCsvHeader(file: File): Promise<string[]> {
  const head = file.slice(0, 256 * 1024);
  const plain = file.name.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '');
  let text = '';
  if (/\.(gz|gzip)$/i.test(file.name) && typeof DecompressionStream !== 'undefined') {
    const reader = head.stream().pipeThrough(new DecompressionStream('gzip')).pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (text.length < 128 * 1024 && !/[\r\n]/.test(text)) {
        const { done, value } = await reader.read();
        if (done) break;
        text += value;
      }
    } catch {
      // the slice ends in the middle of the compressed stream: what was decoded so far is enough
    } finally {
      reader.cancel().catch(() => undefined);
    }
  } else if (/\.(zst|zstd)$/i.test(file.name)) {
    return []; // no zstd decoder in browsers: the columns are typed by hand
  } else {
    text = await head.text();
  }
  return csvHeader(text, plain.endsWith('.tsv') ? '\t' : ',');
}

/** Column names a refused upload listed ("… the header has: "a", "b", "c"."), so the mapping can offer them. */
export function columnsFromError(err: { message: string; details?: { message: string }[] }): string[] {
  for (const t of [err.message, ...(err.details ?? []).map((d) => d.message)]) {
    const at = t.search(/(header has|columns are|columns):\s*"/i);
    if (at < 0) continue;
    const list = /^[^"]*((?:"(?:[^"\\]|\\.)*"(?:,\s*)?)+)/.exec(t.slice(at));
    if (!list) continue;
    const names: string[] = [];
    for (const m of list[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
      try {
        names.push(JSON.parse(`"${m[1]}"`) as string);
      } catch {
        names.push(m[1]);
      }
    }
    if (names.length) return names;
  }
  return [];
}
