/** JSON shapes of the platform REST API (/api/v1). */
import type { DatasetDetail, DatasetSummary } from '../domain/datasets';
import type { DatasetRow, FileRow, JobUse, VersionResult } from '../domain/files';
import type { UploadStatus } from '../domain/uploads';
import type { JobDetail, StageRow, VariantRow, VersionRow } from '../domain/jobs';
import { toOpenAIFile, toOpenAIJob } from '../openai/mappers';
import { variantDownloadUrl } from '../pipeline/publish';
import { stageDurationMs } from '../views';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** OpenAI's file object plus what edgetune measured on upload and the dataset version it is. */
export function restFile(f: FileRow) {
  return { ...toOpenAIFile(f), sha256: f.sha256, examples: f.examples, stats: f.stats, format: f.format, dataset_id: f.datasetId, version: f.version };
}

const jobUse = (j: JobUse, fileId: string) => ({ id: j.id, status: j.status, fine_tuned_model: j.fineTunedModel, role: j.trainingFileId === fileId ? 'training' : 'validation' });

/** A dataset version: the file plus its validation report, where it came from and who used it. */
export function restVersion(f: FileRow, usedBy: JobUse[] | null = null) {
  return {
    ...restFile(f),
    object: 'dataset.version' as const,
    source: f.source ?? null,
    report: f.report ?? null,
    ...(usedBy ? { used_by: { jobs: usedBy.map((j) => jobUse(j, f.id)) } } : {}),
  };
}

export function restDataset(d: DatasetRow, extra: { versions?: number; latest?: FileRow | null } = {}) {
  return {
    id: d.id,
    object: 'dataset' as const,
    name: d.name,
    description: d.description,
    created_at: iso(d.createdAt),
    ...(extra.versions !== undefined ? { versions: extra.versions } : {}),
    ...(extra.latest !== undefined ? { latest_version: extra.latest ? restFile(extra.latest) : null } : {}),
  };
}

export function restDatasetSummary(s: DatasetSummary) {
  return restDataset(s.dataset, { versions: s.versions, latest: s.latest });
}

export function restDatasetDetail(d: DatasetDetail) {
  return { ...restDataset(d.dataset), versions: d.versions.map((v) => restVersion(v.file, v.usedBy)) };
}

/** A resumable upload (field names as the portal's uploader reads them). */
export function restUpload(u: UploadStatus) {
  return {
    id: u.id,
    object: 'upload' as const,
    filename: u.filename,
    offset: u.offset,
    size: u.size,
    status: u.status,
    fileId: u.fileId,
    error: u.error,
    chunkSize: u.chunkSize,
    expiresAt: iso(u.expiresAt),
    createdAt: iso(u.createdAt),
  };
}

/** What completing an upload (or any upload through /api/v1) produced. */
export function restVersionResult(r: VersionResult) {
  return { file: restVersion(r.file), dataset: restDataset(r.dataset), report: r.file.report ?? null, reused: r.reused };
}

export function restStage(s: StageRow, now = Date.now()) {
  return {
    stage: s.stage,
    device: s.device || null,
    variant: s.variant || null,
    state: s.state,
    started_at: iso(s.startedAt),
    finished_at: iso(s.finishedAt),
    duration_ms: stageDurationMs(s, now),
  };
}

export function restVariant(version: VersionRow, v: VariantRow) {
  const fromManifest = version.manifest.variants.find((x) => x.device === v.device && x.quantization === v.quantization);
  return {
    id: v.id,
    device: v.device,
    quantization: v.quantization,
    format: 'gguf' as const,
    size_bytes: v.sizeBytes,
    sha256: v.sha256,
    selected: v.selected,
    download_url: variantDownloadUrl(version.name, v.id),
    metrics: v.metrics ?? fromManifest?.metrics ?? {},
    measured_on: fromManifest?.measured_on ?? null,
  };
}

export function restModel(version: VersionRow, variants: VariantRow[]) {
  const manifest = version.manifest;
  // A published version is served as the very document that was signed, so a device can verify
  // it byte for byte (canonical JSON, ed25519) before trusting any sha256 in it.
  if (manifest.signature) return manifest;
  return {
    model: version.name,
    version: version.version,
    id: version.id,
    base_model: version.baseModel,
    job: version.jobId,
    created_at: iso(version.createdAt),
    evaluation: manifest.evaluation ?? null,
    llama_cpp_version: manifest.llama_cpp_version ?? null,
    signature: null,
    variants: variants.map((v) => restVariant(version, v)),
  };
}

export function restJob(d: JobDetail) {
  return {
    ...toOpenAIJob(d.job, d.version),
    started_at: iso(d.job.startedAt),
    stages: d.stages.map((s) => restStage(s)),
    result: d.job.result ?? null,
    model_version: d.version ? restModel(d.version, d.variants) : null,
  };
}
