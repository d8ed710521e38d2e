/** The portal's (tRPC) views of domain rows: no storage keys, camelCase names. */
import type { DatasetDetail, DatasetSummary } from '../datasets/datasets';
import type { FileRow, JobUse, VersionResult } from '../datasets/files';
import { fileRole, readJob } from '../jobs/job-facts';
import type { JobDetail, JobRow, StageRow, VariantRow, VersionRow } from '../jobs/jobs';

export function fileView(f: FileRow) {
  return {
    id: f.id,
    filename: f.filename,
    purpose: f.purpose,
    bytes: f.bytes,
    sha256: f.sha256,
    examples: f.examples,
    stats: f.stats,
    format: f.format,
    datasetId: f.datasetId,
    version: f.version,
    createdAt: f.createdAt,
  };
}

/** A dataset version for the portal: the file, its report and source, and its lineage. */
export function datasetVersionView(f: FileRow, usedBy: JobUse[] = []) {
  return {
    id: f.id,
    version: f.version,
    filename: f.filename,
    sha256: f.sha256,
    format: f.format,
    examples: f.examples,
    bytes: f.bytes,
    createdAt: f.createdAt,
    report: f.report,
    source: f.source,
    stats: f.stats,
    usedBy: { jobs: usedBy.map((j) => ({ id: j.id, status: j.status, fineTunedModel: j.fineTunedModel, role: fileRole(j, f) })) },
  };
}

export function datasetSummaryView(s: DatasetSummary) {
  const l = s.latest;
  return {
    id: s.dataset.id,
    name: s.dataset.name,
    description: s.dataset.description,
    createdAt: s.dataset.createdAt,
    versions: s.versions,
    latestVersion: l ? { id: l.id, version: l.version, examples: l.examples, format: l.format, bytes: l.bytes, createdAt: l.createdAt } : null,
  };
}

export function datasetDetailView(d: DatasetDetail) {
  return {
    id: d.dataset.id,
    name: d.dataset.name,
    description: d.dataset.description,
    createdAt: d.dataset.createdAt,
    versions: d.versions.map((v) => datasetVersionView(v.file, v.usedBy)),
  };
}

export function uploadResultView(r: VersionResult) {
  return {
    file: fileView(r.file),
    dataset: { id: r.dataset.id, name: r.dataset.name, createdAt: r.dataset.createdAt },
    report: r.file.report,
    reused: r.reused,
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
    /** The pool that measured it ('' on variants published before pools were recorded). */
    pool: v.pool,
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

/**
 * The portal's job: settings as the caller gave them (the form shows what was chosen, not the
 * defaults), the stored error and name; status and result read as every API style reads them.
 */
export function jobSummaryView(j: JobRow) {
  const facts = readJob(j);
  return {
    id: j.id,
    status: facts.status,
    baseModel: j.baseModel,
    trainingFileId: j.trainingFileId,
    validationFileId: j.validationFileId,
    hyperparameters: j.hyperparameters,
    targetDevices: j.targetDevices,
    targetPools: j.targetPools ?? [],
    trainingPool: j.trainingPool ?? null,
    quantizations: j.quantizations ?? null,
    budgets: j.budgets ?? null,
    memoryPlan: j.memoryPlan ?? null,
    suffix: j.suffix,
    seed: j.seed,
    error: j.error ?? null,
    fineTunedModel: j.fineTunedModel,
    trainedTokens: j.trainedTokens,
    result: facts.result,
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
