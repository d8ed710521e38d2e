import { z } from 'zod';

/** Resumable upload limits, quoted by the API documentation and enforced by the API. */

/** The chunk size a client is told to use (any size up to MAX_CHUNK_BYTES is accepted). */
export const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;
export const MAX_CHUNK_BYTES = 256 * 1024 * 1024;
/** An upload expires this long after its last activity. */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * What a resumable upload will be processed with at completion (`uploads.options`), as given
 * when it was created; completion checks them again.
 */
export const uploadOptionsSchema = z.object({
  dataset: z.string().nullable(),
  format: z.string().nullable(),
  /** CSV / Parquet column mapping: target field to source column. */
  columns: z.record(z.string(), z.string()).nullable(),
  baseModel: z.string().nullable(),
});
export type UploadOptions = z.infer<typeof uploadOptionsSchema>;
