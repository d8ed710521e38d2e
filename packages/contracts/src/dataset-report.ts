import { z } from 'zod';
import { datasetFormats } from './datasets';

/**
 * What validating an upload stores on its dataset version (the `files` row): the report the
 * portal and the APIs show, the summary statistics, and where the bytes came from. Written by
 * packages/datasets, read back from the database through these schemas; fields added after the
 * first reports were stored are optional, so an older report still reads.
 */

export const reportWarningSchema = z.object({
  /** duplicates, near_duplicates, too_long, too_short, imbalance, pii_email, pii_phone, pii_card. */
  code: z.string(),
  message: z.string(),
  /** JSONL: lines of the uploaded file (blank lines counted); CSV/Parquet: data rows (1 = first after the header). */
  lines: z.array(z.number().int()),
  count: z.number().int(),
  /** For each of `lines`, the 1-based number of the record it became in the stored file (what the preview pages through). */
  records: z.array(z.number().int()).optional(),
  /** CSV only: for each of `lines`, the line of the file where the row starts. */
  fileLines: z.array(z.number().int()).optional(),
});

export const histogramBinSchema = z.object({ lo: z.number(), hi: z.number(), count: z.number().int() });

/** Tokens per example, counted with the base model's real tokenizer and chat template. */
export const tokenSummarySchema = z.object({
  total: z.number(),
  mean: z.number(),
  p50: z.number(),
  p95: z.number(),
  max: z.number(),
  histogram: z.array(histogramBinSchema),
});

/** Whether tokens could be counted for a base model, and why not. */
export const tokenizerAvailabilitySchema = z.object({
  baseModel: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
});

export const datasetReportSchema = z.object({
  format: z.enum(datasetFormats),
  examples: z.number().int(),
  /** What warnings' `lines` count: JSONL lines of the upload, or CSV/Parquet data rows (absent in older reports). */
  unit: z.enum(['line', 'row']).optional(),
  warnings: z.array(reportWarningSchema),
  stats: z.object({
    lines: z.number().int(),
    messages: z.number().int().optional(),
    characters: z.number().int(),
    roles: z.record(z.string(), z.number().int()).optional(),
    toolCalls: z.number().int().optional(),
    examplesWithTools: z.number().int().optional(),
    excludedTurns: z.number().int().optional(),
    tokens: tokenSummarySchema.nullable(),
    /** `note`: why token counting left its fast paths, when it did. */
    tokenizer: tokenizerAvailabilitySchema.extend({ note: z.string().optional() }),
    labels: z.array(z.object({ label: z.string(), count: z.number().int() })).nullable().optional(),
  }),
});

/**
 * The version's summary statistics (`files.stats`): numbers by snake_case name, as the REST and
 * OpenAI file objects show them. Each is optional: versions stored before validation reports
 * existed have only some of them (and `max_line_bytes`), which are kept as they are.
 */
export const datasetStatsSchema = z
  .object({
    examples: z.number().int(),
    lines: z.number().int(),
    messages: z.number().int(),
    assistant_messages: z.number().int(),
    characters: z.number().int(),
    decompressed_bytes: z.number().int(),
    /** Present when the base model's tokenizer counted the examples. */
    tokens: z.number().int(),
    max_tokens: z.number().int(),
    validation_ms: z.number().int(),
    tokenizer_ms: z.number().int(),
  })
  .partial()
  .catchall(z.number());

/** How the upload arrived (`files.source`). */
export const datasetSourceSchema = z.object({
  filename: z.string(),
  container: z.enum(['jsonl', 'csv', 'parquet']),
  compression: z.enum(['none', 'gzip', 'zstd']),
  /** CSV / Parquet: target field → source column. */
  columns: z.record(z.string(), z.string()).optional(),
  uploadedBytes: z.number().int(),
  normalizedBytes: z.number().int(),
});

export type ReportWarning = z.infer<typeof reportWarningSchema>;
export type HistogramBin = z.infer<typeof histogramBinSchema>;
export type TokenSummary = z.infer<typeof tokenSummarySchema>;
export type TokenizerAvailability = z.infer<typeof tokenizerAvailabilitySchema>;
export type DatasetReport = z.infer<typeof datasetReportSchema>;
export type DatasetStats = z.infer<typeof datasetStatsSchema>;
export type DatasetSource = z.infer<typeof datasetSourceSchema>;
export type DatasetContainer = DatasetSource['container'];
export type DatasetCompression = DatasetSource['compression'];
