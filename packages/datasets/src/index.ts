/**
 * The dataset engine: an uploaded file in (JSONL, CSV or Parquet, optionally gzip/zstd), checked
 * record by record; out come the normalized JSONL the trainer reads and a typed report
 * (DatasetReport, DatasetStats and DatasetSource in @edgetune/contracts). No database, no HTTP.
 */
export { ingest, ingestDataset, DEFAULT_MAX_LINE_BYTES, MAX_REPORTED_ERRORS, type IngestOptions, type IngestResult } from './ingest';
export { ingestStreamOffThread, stopDatasetThreads, type OffThreadResult } from './ingest-threads';
export { estimateTraining, trainingPrice, type TrainingEstimate, type MeasuredRates } from './estimate';
export { ChunkFeed } from './chunk-feed';
