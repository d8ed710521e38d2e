/**
 * JSON shapes of the platform REST API (/api/v1): one view per object, each typed by its schema in
 * ./schemas (from which the OpenAPI document is generated). Files and jobs are OpenAI's objects
 * plus what edgetune adds, so those views extend the OpenAI ones.
 */
import type { DatasetFormat } from '@edgetune/contracts';
import type { me } from '../identity/accounts';
import type { AuditView } from '../identity/audit';
import type { DatasetDetail } from '../datasets/datasets';
import type { DeviceView } from '../devices/devices';
import type { CreatedPool, PoolView } from '../pools/pools';
import type { CreatedFleet, DeviceView as FleetDeviceView, FleetView } from '../fleets/fleets';
import type { ReleaseView } from '../fleets/releases';
import { targetPath } from '../fleets/tuf';
import type { DatasetRow, FileRow, JobUse, VersionResult } from '../datasets/files';
import { fileRole, readJob } from '../jobs/job-facts';
import type { EventRow, JobDetail, JobRow, StageRow, VariantRow, VersionRow } from '../jobs/jobs';
import type { InvitationView } from '../identity/invitations';
import type { MemberView } from '../identity/members';
import type { UploadStatus } from '../datasets/uploads';
import { toOpenAIEvent, toOpenAIFile, toOpenAIJob } from '../openai/mappers';
import { variantDownloadUrl } from '../models/publish';
import { stageDurationMs } from '../trpc/views';
import type {
  RestAuditEvent,
  RestDataset,
  RestDatasetDetail,
  RestDatasetVersion,
  RestDevice,
  RestFile,
  RestInvitation,
  RestJob,
  RestJobEvent,
  RestMe,
  RestMember,
  RestModel,
  RestPool,
  RestCreatedPool,
  RestCreatedFleet,
  RestFleet,
  RestFleetDevice,
  RestRelease,
  RestStage,
  RestUpload,
  RestVariant,
  RestVersionResult,
} from './schemas';

type MeView = Awaited<ReturnType<typeof me>>;

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** OpenAI's file object plus what edgetune measured on upload and the dataset version it is. */
export function restFile(f: FileRow): RestFile {
  return {
    ...toOpenAIFile(f),
    sha256: f.sha256,
    examples: f.examples,
    stats: f.stats,
    format: f.format as DatasetFormat,
    dataset_id: f.datasetId,
    version: f.version,
  };
}

/** A dataset version: the file plus its validation report, where it came from and who used it. */
export function restVersion(f: FileRow, usedBy: JobUse[] | null = null): RestDatasetVersion {
  return {
    ...restFile(f),
    object: 'dataset.version',
    source: f.source ?? null,
    report: f.report ?? null,
    ...(usedBy ? { used_by: { jobs: usedBy.map((j) => ({ id: j.id, status: j.status, fine_tuned_model: j.fineTunedModel, role: fileRole(j, f) })) } } : {}),
  };
}

/** A dataset; in a list, with its number of versions and its latest one. */
export function restDataset(d: DatasetRow, extra: { versions?: number; latest?: FileRow | null } = {}): RestDataset {
  return {
    id: d.id,
    object: 'dataset',
    name: d.name,
    description: d.description,
    created_at: iso(d.createdAt),
    ...(extra.versions !== undefined ? { versions: extra.versions } : {}),
    ...(extra.latest !== undefined ? { latest_version: extra.latest ? restFile(extra.latest) : null } : {}),
  };
}

export function restDatasetDetail(d: DatasetDetail): RestDatasetDetail {
  return { ...restDataset(d.dataset), versions: d.versions.map((v) => restVersion(v.file, v.usedBy)) };
}

/** A resumable upload (field names as the portal's uploader reads them). */
export function restUpload(u: UploadStatus): RestUpload {
  return {
    id: u.id,
    object: 'upload',
    filename: u.filename,
    offset: u.offset,
    size: u.size,
    received: u.received,
    ranges: u.ranges,
    validated: u.validated,
    status: u.status,
    fileId: u.fileId,
    error: u.error,
    chunkSize: u.chunkSize,
    expiresAt: iso(u.expiresAt),
    createdAt: iso(u.createdAt),
  };
}

/** What completing an upload (or any upload through /api/v1) produced. */
export function restVersionResult(r: VersionResult): RestVersionResult {
  return { file: restVersion(r.file), dataset: restDataset(r.dataset), report: r.file.report ?? null, reused: r.reused };
}

export function restStage(s: StageRow, now = Date.now()): RestStage {
  return {
    stage: s.stage,
    device: s.device || null,
    variant: s.variant || null,
    state: s.state,
    started_at: iso(s.startedAt),
    finished_at: isoOrNull(s.finishedAt),
    duration_ms: stageDurationMs(s, now),
  };
}

export function restVariant(version: VersionRow, v: VariantRow): RestVariant {
  const fromManifest = version.manifest.variants.find((x) => x.device === v.device && x.quantization === v.quantization && (!v.pool || x.measured_on.pool === v.pool));
  return {
    id: v.id,
    device: v.device,
    pool: v.pool || fromManifest?.measured_on.pool || null,
    quantization: v.quantization,
    format: 'gguf',
    size_bytes: v.sizeBytes,
    sha256: v.sha256,
    selected: v.selected,
    download_url: variantDownloadUrl(version.name, v.id),
    metrics: v.metrics ?? fromManifest?.metrics ?? {},
    measured_on: fromManifest?.measured_on ?? null,
  };
}

export function restModel(version: VersionRow, variants: VariantRow[]): RestModel {
  const manifest = version.manifest;
  // A published version is served as the very document that was signed, so a device can verify
  // it byte for byte (canonical JSON, ed25519) before trusting any sha256 in it.
  if (manifest.signature) return manifest as RestModel;
  return {
    model: version.name,
    version: version.version,
    id: version.id,
    base_model: version.baseModel,
    job: version.jobId,
    created_at: iso(version.createdAt),
    evaluation: (manifest.evaluation as Record<string, unknown> | undefined) ?? null,
    llama_cpp_version: (manifest.llama_cpp_version as string | undefined) ?? null,
    signature: null,
    variants: variants.map((v) => restVariant(version, v)),
  };
}

/** A job: in a list, OpenAI's job object; alone (with its stages), plus its stages, result and model version. */
export function restJob(d: JobDetail | { job: JobRow; version?: VersionRow | null }): RestJob {
  const openai = toOpenAIJob(d.job, d.version);
  if (!('stages' in d)) return openai;
  return {
    ...openai,
    started_at: isoOrNull(d.job.startedAt),
    stages: d.stages.map((s) => restStage(s)),
    result: readJob(d.job, d.version).result,
    model_version: d.version ? restModel(d.version, d.variants) : null,
  };
}

export function restJobEvent(e: EventRow): RestJobEvent {
  return { ...toOpenAIEvent(e), seq: e.seq };
}

export function restDevice(d: DeviceView): RestDevice {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    arch: d.arch,
    requiredFlags: d.requiredFlags,
    quantizations: d.quantizations,
    defaultBudget: d.defaultBudget,
    pools: d.pools,
    available: d.available,
  };
}

export function restPool(p: PoolView): RestPool {
  return {
    id: p.id,
    name: p.name,
    owner: p.owner,
    kind: p.kind,
    profiles: p.profiles,
    online: p.online,
    pollers: p.pollers,
    last_poll_at: isoOrNull(p.lastPollAt),
    registered_at: iso(p.registeredAt),
    last_seen_at: iso(p.lastSeenAt),
    fingerprint: p.fingerprint,
    token_prefix: p.tokenPrefix,
    agents: p.agents.map((a) => ({ id: a.id, name: a.name, profiles: a.profiles, online: a.online, last_seen_at: iso(a.lastSeenAt), fingerprint: a.fingerprint })),
    queue_depth: p.queueDepth,
    current_tasks: p.currentTasks.map((t) => ({ id: t.id, kind: t.kind, job_id: t.jobId, device: t.device, agent_id: t.agentId, created_at: iso(t.createdAt) })),
    recent_results: p.recentResults.map((r) => ({
      task_id: r.taskId,
      job_id: r.jobId,
      device: r.device,
      finished_at: iso(r.finishedAt),
      decode_tokens_per_second: r.decodeTokensPerSecond,
      prefill_tokens_per_second: r.prefillTokensPerSecond,
      peak_rss_bytes: r.peakRssBytes,
    })),
    decode_spread: p.decodeSpread,
  };
}

export function restCreatedPool(c: CreatedPool): RestCreatedPool {
  return { ...restPool(c.pool), enrollment_token: c.enrollmentToken };
}

export function restFleet(f: FleetView): RestFleet {
  return {
    id: f.id,
    name: f.name,
    token_prefix: f.tokenPrefix,
    created_at: iso(f.createdAt),
    devices: f.devices,
    versions: f.versions.map((v) => ({ profile: v.profile, installed_version: v.installedVersion, devices: v.devices })),
  };
}

export function restCreatedFleet(c: CreatedFleet): RestCreatedFleet {
  return { ...restFleet(c.fleet), enrollment_token: c.enrollmentToken };
}

export function restFleetDevice(d: FleetDeviceView): RestFleetDevice {
  return {
    id: d.id,
    name: d.name,
    profile: d.profile,
    enrolled_at: iso(d.enrolledAt),
    last_check_in_at: isoOrNull(d.lastCheckInAt),
    online: d.online,
    installed_version: d.installedVersion,
    health: d.health,
    last_error: d.lastError,
    revoked_at: isoOrNull(d.revokedAt),
    channel: d.channel,
    rollout_bucket: d.bucket,
    update: { release_id: d.update.releaseId, status: d.update.status, error: d.update.error, smoke_latency_ms: d.update.smokeLatencyMs, reported_at: isoOrNull(d.update.reportedAt) },
  };
}

export function restRelease(r: ReleaseView): RestRelease {
  return {
    object: 'fleet.release',
    id: r.id,
    fleet_id: r.fleetId,
    channel: r.channel,
    seq: r.seq,
    model: r.model,
    model_version_id: r.modelVersionId,
    steps: r.steps,
    step_index: r.stepIndex,
    rollout_percent: r.percent,
    state: r.state,
    state_reason: r.stateReason,
    soak_minutes: r.soakMinutes,
    failure_threshold: r.failureThreshold,
    min_reports: r.minReports,
    step_started_at: iso(r.stepStartedAt),
    rollback_of: r.rollbackOf,
    created_at: iso(r.createdAt),
    targets: r.targets.map((t) => ({ profile: t.profile, variant_id: t.variantId, sha256: t.sha256, size_bytes: t.sizeBytes, path: targetPath(t.profile) })),
    step_stats: r.stats.map((s) => ({ percent: s.percent, devices: s.devices, reports: s.reports, failures: s.failures, failure_rate: s.failureRate })),
  };
}

export function restMe(m: MeView): RestMe {
  return {
    object: 'me',
    user: m.user,
    org: m.org,
    role: m.role,
    via: m.via,
    scopes: m.scopes as RestMe['scopes'],
    email_verified: m.emailVerified,
    permissions: m.permissions,
    orgs: m.orgs,
  };
}

export function restMember(m: MemberView): RestMember {
  return { object: 'member', user_id: m.userId, email: m.email, name: m.name, role: m.role, joined_at: iso(m.joinedAt) };
}

export function restInvitation(i: Pick<InvitationView, 'id' | 'email' | 'role' | 'expiresAt'>): RestInvitation {
  return { object: 'invitation', id: i.id, email: i.email, role: i.role, expires_at: iso(i.expiresAt) };
}

export function restAuditEvent(e: AuditView): RestAuditEvent {
  return {
    id: e.id,
    object: 'audit_event',
    seq: e.seq,
    at: iso(e.at),
    actor: { user_id: e.actor.userId, key_id: e.actor.keyId, label: e.actor.label },
    action: e.action as RestAuditEvent['action'],
    target: e.target,
    outcome: e.outcome,
    ip: e.ip,
    user_agent: e.userAgent,
    data: e.data,
  };
}
