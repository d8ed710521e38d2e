export { ingestDataset, DEFAULT_MAX_LINE_BYTES, MAX_REPORTED_ERRORS, type DatasetReport, type IngestOptions, type IngestResult, type TokenSummary } from './ingest';
export { estimateTraining, trainingPrice, type TrainingEstimate, type MeasuredRates } from './estimate';
export { loadTokenCounter, clearTokenizerCache, type TokenizerAvailability } from './tokens';
export type { DatasetFormat } from '@edgetune/contracts';
