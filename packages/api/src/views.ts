/** Public (portal / REST) views of domain rows: no storage keys, stable snake_case-free names for tRPC. */
import type { FileRow } from './domain/files';
import type { JobDetail, JobRow, StageRow, VariantRow, VersionRow } from './domain/jobs';

export function fileView(f: FileRow) {
  return {
    id: f.id,
    filename: f.filename,
    purpose: f.purpose,
    bytes: f.bytes,
    sha256: f.sha256,
    examples: f.examples,
    stats: f.stats,
    createdAt: f.createdAt,
  };
}

/** A stage's recorded duration, or for a stage still running, the time since it started. */
export function stageDurationMs(s: StageRow, now = Date.now()): number {
  return s.durationMs ?? (s.finishedAt ?? new Date(now)).getTime() - s.startedAt.getTime();
}

export function stageView(s: StageRow, now = Date.now()) {
  return {
    stage: s.stage,
    device: s.device || null,
    variant: s.variant || null,
    state: s.state,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    durationMs: stageDurationMs(s, now),
  };
}

export function variantView(v: VariantRow) {
  return {
    id: v.id,
    device: v.device,
    quantization: v.quantization,
    format: v.format,
    sizeBytes: v.sizeBytes,
    sha256: v.sha256,
    selected: v.selected,
    metrics: v.metrics,
  };
}

export function versionView(v: VersionRow, variants: VariantRow[]) {
  return {
    id: v.id,
    name: v.name,
    baseModel: v.baseModel,
    version: v.version,
    jobId: v.jobId,
    createdAt: v.createdAt,
    manifest: v.manifest,
    variants: variants.map(variantView),
  };
}

export function jobSummaryView(j: JobRow) {
  return {
    id: j.id,
    status: j.status,
    baseModel: j.baseModel,
    trainingFileId: j.trainingFileId,
    validationFileId: j.validationFileId,
    hyperparameters: j.hyperparameters,
    targetDevices: j.targetDevices,
    suffix: j.suffix,
    seed: j.seed,
    error: j.error ?? null,
    fineTunedModel: j.fineTunedModel,
    trainedTokens: j.trainedTokens,
    result: j.result ?? null,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
  };
}

export function jobDetailView(d: JobDetail) {
  return {
    ...jobSummaryView(d.job),
    stages: d.stages.map((s) => stageView(s)),
    version: d.version ? versionView(d.version, d.variants) : null,
  };
}
