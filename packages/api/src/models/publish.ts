/**
 * Publishing a fine-tuned model version: immutable content-addressed files, a manifest listing
 * each variant with its sha256 and measured numbers, signed with the platform's ed25519 key.
 */
import { createPrivateKey, createPublicKey, createHash, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { and, eq, sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { newId, type BrokenBudget, type Budgets, type DeviceSelection, type Manifest, type ManifestVariant, type VariantQualityMetrics } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import type { BenchmarkOutput, EvaluateOutput, FigureSpread, ImatrixInfo, Quantization, VariantQuality } from '@edgetune/temporal';
import { isUniqueViolation } from '../identity/accounts';
import { recordAudit } from '../identity/audit';
import type { JobRef } from '../jobs/records';

export interface CandidateResult {
  quantization: Quantization;
  key: string;
  sizeBytes: number;
  sha256: string;
  benchmark: BenchmarkOutput;
  imatrix?: ImatrixInfo;
  imatrixSkipped?: string;
}

export interface DeviceResult {
  device: string;
  pool: string;
  candidates: CandidateResult[];
  selected: Quantization;
  /** How it was selected (absent from workflows started before budgets). */
  selection?: {
    budgets: Budgets;
    front: Quantization[];
    dominated: { quantization: Quantization; by: Quantization }[];
    rejected: { quantization: Quantization; broken: BrokenBudget[] }[];
    reason: string;
  };
}

export interface PublishInput extends JobRef {
  evaluation: EvaluateOutput;
  llamaCppVersion: string;
  devices: DeviceResult[];
  createdAt: number;
}

export interface PublishOutput {
  name: string;
  versionId: string;
  version: number;
  manifestKey: string;
}

/** JSON with object keys sorted, so a signature can be checked by anyone re-serialising it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function signingKey() {
  const key = createPrivateKey(readFileSync(loadConfig().SIGNING_KEY_FILE));
  const pub = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return { key, keyId: createHash('sha256').update(pub).digest('hex').slice(0, 16) };
}

export function signManifest(manifest: Manifest): Manifest {
  const { key, keyId } = signingKey();
  const { signature: _drop, ...unsigned } = manifest;
  const value = sign(null, Buffer.from(canonicalJson(unsigned)), key).toString('base64');
  return { ...unsigned, signature: { algorithm: 'ed25519', key_id: keyId, value } };
}

/** Where a variant is downloaded from (the REST API's download route); also used in REST views. */
export function variantDownloadUrl(modelName: string, variantId: string): string {
  const base = loadConfig().PUBLIC_URL.replace(/\/+$/, '');
  return `${base}/api/v1/models/${encodeURIComponent(modelName)}/variants/${encodeURIComponent(variantId)}/download`;
}

const figure = (f: FigureSpread) => ({ median: f.median, p10: f.p10, p90: f.p90, samples: f.samples });

export function qualityMetrics(q: VariantQuality): VariantQualityMetrics {
  return {
    reference: q.reference,
    kl_divergence_mean: q.klDivergenceMean,
    kl_divergence_p99: q.klDivergenceP99,
    same_top_token_percent: q.sameTopTokenPercent,
    perplexity: q.perplexity,
    reference_perplexity: q.referencePerplexity,
    perplexity_ratio: q.perplexityRatio,
    eval_tokens: q.evalTokens,
    context_tokens: q.contextTokens,
    chunks: q.chunks,
  };
}

async function contentAddress(orgId: string, c: CandidateResult): Promise<string> {
  const key = `orgs/${orgId}/blobs/sha256/${c.sha256}.gguf`;
  const existing = await storage().head(key);
  if (existing && existing.sizeBytes === c.sizeBytes) return key;
  const info = await storage().put(key, await storage().get(c.key));
  if (info.sizeBytes !== c.sizeBytes) throw new Error(`copy of ${c.key} has ${info.sizeBytes} bytes, expected ${c.sizeBytes}`);
  return key;
}

export async function publishVersion(input: PublishInput): Promise<PublishOutput> {
  const existing = await db().query.modelVersions.findFirst({
    where: and(eq(schema.modelVersions.jobId, input.jobId), eq(schema.modelVersions.orgId, input.orgId)),
  });
  if (existing) return { name: existing.name, versionId: existing.id, version: existing.version, manifestKey: existing.manifestKey };

  const job = await db().query.jobs.findFirst({ where: and(eq(schema.jobs.id, input.jobId), eq(schema.jobs.orgId, input.orgId)) });
  const org = await db().query.orgs.findFirst({ where: eq(schema.orgs.id, input.orgId) });
  if (!job || !org) throw new Error(`job ${input.jobId} / org ${input.orgId} not found`);

  const versionId = newId('modelVersion');
  const name = `ft:${job.baseModel}:${org.slug}:${job.suffix ?? ''}:${job.id.slice('ftjob-'.length, 'ftjob-'.length + 8)}`;
  const nextVersion = async () =>
    Number(
      (
        await db()
          .select({ next: sql<number>`coalesce(max(${schema.modelVersions.version}), 0) + 1` })
          .from(schema.modelVersions)
          .where(and(eq(schema.modelVersions.orgId, input.orgId), eq(schema.modelVersions.baseModel, job.baseModel)))
      )[0].next,
    );

  const variantRows: (typeof schema.modelVariants.$inferInsert)[] = [];
  const variants: ManifestVariant[] = [];
  for (const d of input.devices) {
    for (const c of d.candidates) {
      const id = newId('variant');
      const storageKey = await contentAddress(input.orgId, c);
      const b = c.benchmark;
      const metrics = {
        prefill_tokens_per_second: b.prefillTokensPerSecond,
        decode_tokens_per_second: b.decodeTokensPerSecond,
        time_to_first_token_ms: b.timeToFirstTokenMs,
        peak_rss_bytes: b.peakRssBytes,
        task_accuracy: b.taskAccuracy,
        eval_examples: b.evalExamples,
        threads: b.threads,
        repetitions: b.repetitions,
        ...(b.quality ? { quality: qualityMetrics(b.quality) } : {}),
        ...(b.qualitySkipped ? { quality_skipped: b.qualitySkipped } : {}),
        ...(b.templateParity ? { template_parity: { matched: true as const, prompt_tokens: b.templateParity.promptTokens } } : {}),
        ...(b.protocol
          ? {
              spread: {
                prefill_tokens_per_second: figure(b.protocol.prefill),
                decode_tokens_per_second: figure(b.protocol.decode),
                time_to_first_token_ms: figure(b.protocol.ttftMs),
                converged: b.protocol.converged,
                max_spread: b.protocol.maxSpread,
              },
            }
          : {}),
        ...(b.environment
          ? {
              environment: {
                ...(b.environment.temperatureC !== undefined ? { temperature_c: b.environment.temperatureC } : {}),
                build_flags: b.environment.buildFlags,
                ...(b.environment.runtime ? { runtime: b.environment.runtime } : {}),
              },
            }
          : {}),
      };
      const selected = c.quantization === d.selected;
      const imatrix = c.imatrix
        ? { sha256: c.imatrix.sha256, dataset: c.imatrix.dataset, calibration_tokens: c.imatrix.calibrationTokens, context_tokens: c.imatrix.contextTokens, chunks: c.imatrix.chunks }
        : undefined;
      variantRows.push({
        id, orgId: input.orgId, versionId, device: d.device, pool: d.pool, quantization: c.quantization, format: 'gguf',
        sizeBytes: c.sizeBytes, sha256: c.sha256, storageKey, selected,
        metrics: {
          ...metrics,
          prefill_stdev: b.prefillStdev,
          decode_stdev: b.decodeStdev,
          fingerprint: b.fingerprint,
          ...(imatrix ? { imatrix } : {}),
          ...(c.imatrixSkipped ? { imatrix_skipped: c.imatrixSkipped } : {}),
        },
      });
      variants.push({
        device: d.device, quantization: c.quantization, format: 'gguf', size_bytes: c.sizeBytes, sha256: c.sha256,
        download_url: variantDownloadUrl(name, id), selected, metrics, ...(imatrix ? { imatrix } : {}),
        measured_on: { pool: d.pool, cpu_model: b.fingerprint.cpuModel, cores: b.fingerprint.cores, llama_cpp_version: b.fingerprint.llamaCppVersion },
      });
    }
  }
  const selection: DeviceSelection[] = input.devices.flatMap((d) =>
    d.selection
      ? [
          {
            device: d.device,
            pool: d.pool,
            selected: d.selected,
            budgets: Object.fromEntries(Object.entries(d.selection.budgets).filter(([, v]) => v !== undefined)) as Record<string, number>,
            pareto_front: d.selection.front,
            dominated: d.selection.dominated,
            rejected: d.selection.rejected,
            reason: d.selection.reason,
          },
        ]
      : [],
  );
  const e = input.evaluation;
  const manifestKey = `orgs/${input.orgId}/models/${versionId}/manifest.json`;
  // max + 1 races with a concurrent publish of the same org and base model: the unique index
  // (org, base model, version) refuses the loser, which takes the next number and signs again.
  for (let attempt = 1; ; attempt++) {
    const next = await nextVersion();
    const manifest = signManifest({
      model: name,
      version: next,
      base_model: job.baseModel,
      job: job.id,
      created_at: new Date(input.createdAt).toISOString(),
      llama_cpp_version: input.llamaCppVersion,
      evaluation: {
        loss: e.loss, token_accuracy: e.tokenAccuracy, task_accuracy: e.taskAccuracy, base_task_accuracy: e.baseTaskAccuracy, examples: e.examples,
        ...(e.rewardAccuracy !== undefined ? { reward_accuracy: e.rewardAccuracy, reward_margin: e.rewardMargin ?? 0 } : {}),
      },
      variants,
      ...(selection.length ? { selection } : {}),
    });
    await storage().put(manifestKey, JSON.stringify(manifest, null, 2));
    try {
      await db().transaction(async (tx) => {
        await tx.insert(schema.modelVersions).values({
          id: versionId, orgId: input.orgId, jobId: job.id, name, baseModel: job.baseModel, version: next,
          manifest, manifestKey,
        });
        if (variantRows.length) await tx.insert(schema.modelVariants).values(variantRows);
        // Published by the pipeline on behalf of whoever launched the job.
        await recordAudit(
          { orgId: input.orgId, userId: job.createdBy },
          { action: 'model.published', targetType: 'model_version', targetId: versionId, data: { name, version: next, jobId: job.id, variants: variantRows.length } },
          tx,
        );
      });
      return { name, versionId, version: next, manifestKey };
    } catch (err) {
      const raced = await db().query.modelVersions.findFirst({ where: eq(schema.modelVersions.jobId, input.jobId) });
      if (raced) {
        await storage().delete(manifestKey);
        return { name: raced.name, versionId: raced.id, version: raced.version, manifestKey: raced.manifestKey };
      }
      if (isUniqueViolation(err, 'model_versions_number') && attempt < 20) continue;
      await storage().delete(manifestKey);
      throw err;
    }
  }
}
