/** JSON shapes of the platform REST API (/api/v1). */
import type { FileRow } from '../domain/files';
import type { JobDetail, StageRow, VariantRow, VersionRow } from '../domain/jobs';
import { toOpenAIFile, toOpenAIJob } from '../openai/mappers';
import { variantDownloadUrl } from '../pipeline/publish';
import { stageDurationMs } from '../views';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** OpenAI's file object plus what edgetune measured on upload. */
export function restFile(f: FileRow) {
  return { ...toOpenAIFile(f), sha256: f.sha256, examples: f.examples, stats: f.stats };
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
  const fromManifest =
    ((version.manifest as { variants?: Array<Record<string, unknown>> }).variants ?? []).find((x) => x.device === v.device && x.quantization === v.quantization) ?? {};
  return {
    id: v.id,
    device: v.device,
    quantization: v.quantization,
    format: 'gguf' as const,
    size_bytes: v.sizeBytes,
    sha256: v.sha256,
    selected: v.selected,
    download_url: variantDownloadUrl(version.name, v.id),
    metrics: v.metrics ?? fromManifest.metrics ?? {},
    measured_on: (fromManifest.measured_on as Record<string, unknown> | undefined) ?? null,
  };
}

export function restModel(version: VersionRow, variants: VariantRow[]) {
  const manifest = version.manifest as Record<string, unknown>;
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
