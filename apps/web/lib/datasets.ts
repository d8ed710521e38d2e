/**
 * The portal's reading of a dataset version's stored validation report (`files.report`, JSON
 * written by the api's validator). The report is untyped JSON here, so every field is read
 * defensively: a report from an older validator simply shows less.
 */

export type DatasetFormat = 'chat' | 'prompt_completion' | 'preference';

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
export type ReportUnit = 'line' | 'row';

export interface Histogram {
  lo: number;
  hi: number;
  count: number;
}

export interface TokenStats {
  total: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
  histogram: Histogram[];
}

export interface ReadReport {
  format: string | null;
  examples: number | null;
  unit: ReportUnit;
  warnings: ReportWarning[];
  /**
   * A JSONL report from before records were stored with its warnings: each link assumes line N
   * is record N, which is off by the blank lines above it.
   */
  approximateLinks: boolean;
  tokens: TokenStats | null;
  tokenizer: { baseModel: string | null; available: boolean; reason: string | null } | null;
  /** The other numeric statistics (messages, characters, …), for the totals table. */
  totals: [string, number][];
  /** A characters-per-example histogram, when the validator recorded one. */
  charHistogram: Histogram[] | null;
  /** Turns per role (system, user, assistant, tool). */
  roles: [string, number][];
  /** How often each final answer occurs (label balance of classification-like data), most frequent first. */
  labels: [string, number][];
}

const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function histogram(v: unknown): Histogram[] | null {
  if (!Array.isArray(v)) return null;
  const out: Histogram[] = [];
  for (const b of v) {
    const o = obj(b);
    const lo = num(o?.lo);
    const hi = num(o?.hi);
    const count = num(o?.count);
    if (lo === null || hi === null || count === null) return null;
    out.push({ lo, hi, count });
  }
  return out;
}

const roleOrder = ['system', 'user', 'assistant', 'tool'];
const roleRank = (r: string) => (roleOrder.includes(r) ? roleOrder.indexOf(r) : roleOrder.length);

const positiveInts = (v: unknown): number[] | null => (Array.isArray(v) && v.every((n) => Number.isSafeInteger(n) && n > 0) ? (v as number[]) : null);

/**
 * `container` (the version's `source.container`) tells the unit of a report older than its
 * `unit` field: CSV and Parquet reports always named data rows.
 */
export function readReport(report: unknown, container?: unknown): ReadReport {
  const r = obj(report) ?? {};
  const stats = obj(r.stats) ?? {};
  const unit: ReportUnit = r.unit === 'row' || r.unit === 'line' ? r.unit : container === 'csv' || container === 'parquet' ? 'row' : 'line';
  let approximateLinks = false;
  const warnings: ReportWarning[] = Array.isArray(r.warnings)
    ? r.warnings.flatMap((w) => {
        const o = obj(w);
        if (!o || typeof o.code !== 'string') return [];
        const lines = positiveInts(o.lines) ?? [];
        const given = positiveInts(o.records);
        const records = given && given.length === lines.length ? given : null;
        const starts = positiveInts(o.fileLines);
        const fileLines = starts && starts.length === lines.length ? starts : null;
        // Without stored records, rows are still exact (every data row is a record: blank lines
        // are not rows and a bad row rejects the file); JSONL lines are not.
        if (!records && unit === 'line' && lines.length > 0) approximateLinks = true;
        const links = lines.map((at, i) => ({ at, record: records ? records[i] : at, fileLine: fileLines ? fileLines[i] : null }));
        return [{ code: o.code, message: typeof o.message === 'string' ? o.message : o.code, count: num(o.count) ?? lines.length, links }];
      })
    : [];
  const t = obj(stats.tokens);
  const tokHist = histogram(t?.histogram);
  const tokens: TokenStats | null =
    t && tokHist
      ? { total: num(t.total) ?? 0, mean: num(t.mean) ?? 0, p50: num(t.p50) ?? 0, p95: num(t.p95) ?? 0, max: num(t.max) ?? 0, histogram: tokHist }
      : null;
  const tk = obj(stats.tokenizer);
  const totals: [string, number][] = Object.entries(stats).flatMap(([k, v]) => (num(v) !== null ? [[k, v as number] as [string, number]] : []));
  const chars = obj(stats.characters);
  return {
    format: typeof r.format === 'string' ? r.format : null,
    examples: num(r.examples),
    unit,
    warnings,
    approximateLinks,
    tokens,
    tokenizer: tk
      ? { baseModel: typeof tk.baseModel === 'string' ? tk.baseModel : null, available: tk.available === true, reason: typeof tk.reason === 'string' ? tk.reason : null }
      : null,
    totals,
    charHistogram: histogram(chars?.histogram) ?? histogram(stats.charactersHistogram) ?? null,
    roles: Object.entries(obj(stats.roles) ?? {})
      .flatMap(([k, v]) => (num(v) !== null ? [[k, v as number] as [string, number]] : []))
      .sort((a, b) => roleRank(a[0]) - roleRank(b[0])),
    labels: (Array.isArray(stats.labels) ? stats.labels : [])
      .flatMap((l) => {
        const o = obj(l);
        return o && typeof o.label === 'string' && num(o.count) !== null ? [[o.label, o.count as number] as [string, number]] : [];
      })
      .sort((a, b) => b[1] - a[1]),
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
