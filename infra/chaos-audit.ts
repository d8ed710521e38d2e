/**
 * What the kill tests check once the dust has settled, run with a stack's environment (its
 * database and object store): `tsx infra/chaos-audit.ts <org id> <job id>...` prints one JSON
 * object (ChaosAudit) and exits 0; the caller judges it.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { inArray, sql } from 'drizzle-orm';
import { loadConfig } from '@edgetune/config';
import { closeDb, db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';

export interface ChaosAudit {
  jobs: { id: string; status: string; error: string | null; versions: number }[];
  /** Jobs that were created but have no row. */
  lost: string[];
  duplicateVersions: string[];
  duplicateVariants: string[];
  duplicateUsage: string[];
  /** Stored objects of the organization that no row accounts for. */
  orphanObjects: string[];
  /** Rows whose object is missing from the store. */
  missingObjects: string[];
  /** Files left in the organization's upload staging folder. */
  staging: string[];
  /** The jobs' organization pool tasks by state. */
  poolTasks: Record<string, number>;
  /** Pool tasks still queued or running once every job has ended. */
  strandedPoolTasks: string[];
}

const [orgId, ...jobIds] = process.argv.slice(2);
if (!orgId) throw new Error('usage: chaos-audit.ts <org id> <job id>...');

const rows = jobIds.length ? await db().select().from(schema.jobs).where(inArray(schema.jobs.id, jobIds)) : [];
const versions = await db().select({ id: schema.modelVersions.id, jobId: schema.modelVersions.jobId, manifestKey: schema.modelVersions.manifestKey }).from(schema.modelVersions).where(sql`${schema.modelVersions.orgId} = ${orgId}`);
const dup = async (q: ReturnType<typeof sql>) => ((await db().execute(q)).rows as { k: string }[]).map((r) => r.k);
const files = await db().select({ id: schema.files.id, key: schema.files.storageKey, purpose: schema.files.purpose }).from(schema.files).where(sql`${schema.files.orgId} = ${orgId}`);
const variants = await db().select({ key: schema.modelVariants.storageKey }).from(schema.modelVariants).where(sql`${schema.modelVariants.orgId} = ${orgId}`);
const allJobs = new Set((await db().select({ id: schema.jobs.id }).from(schema.jobs).where(sql`${schema.jobs.orgId} = ${orgId}`)).map((j) => j.id));

const stored = new Set((await storage().list(`orgs/${orgId}`)).map((o) => o.key).filter((k) => k.startsWith(`orgs/${orgId}/`)));
const fileKeys = new Set(files.map((f) => f.key));
const variantKeys = new Set(variants.map((v) => v.key));
const manifestKeys = new Set(versions.map((v) => v.manifestKey));
// files/<id>.jsonl belongs to a file row, jobs/<id>/… to a job, blobs/sha256/… (published variants,
// stored once by content) to a variant, models/<id>/manifest.json to a model version; anything
// else under the organization belongs to nothing.
const orphanObjects = [...stored].filter((key) => {
  const m = /^orgs\/[^/]+\/(files|jobs|blobs|models)\/([^/]+)/.exec(key);
  if (!m) return true;
  if (m[1] === 'models') return !manifestKeys.has(key);
  if (m[1] === 'files') return !fileKeys.has(key);
  if (m[1] === 'blobs') return !variantKeys.has(key);
  return !allJobs.has(m[2]!);
});
const referenced = [...files.filter((f) => f.purpose !== 'deleted').map((f) => f.key), ...variants.map((v) => v.key), ...versions.map((v) => v.manifestKey)];

let staging: string[] = [];
try {
  staging = readdirSync(path.join(loadConfig().DATA_DIR, 'uploads', orgId));
} catch {
  /* no staging folder: nothing left */
}

const tasks = jobIds.length ? await db().select({ id: schema.poolTasks.id, jobId: schema.poolTasks.jobId, state: schema.poolTasks.state }).from(schema.poolTasks).where(inArray(schema.poolTasks.jobId, jobIds)) : [];
const ended = new Set(rows.filter((j) => ['succeeded', 'failed', 'cancelled'].includes(j.status)).map((j) => j.id));
const poolTasks: Record<string, number> = {};
for (const t of tasks) poolTasks[t.state] = (poolTasks[t.state] ?? 0) + 1;

const audit: ChaosAudit = {
  jobs: rows.map((j) => ({ id: j.id, status: j.status, error: j.error?.message ?? null, versions: versions.filter((v) => v.jobId === j.id).length })),
  lost: jobIds.filter((id) => !rows.some((r) => r.id === id)),
  // Unique indexes (model_versions_job, model_variants_key, usage_records_job_kind) forbid these;
  // they are counted here so that a dropped or changed index cannot go unnoticed.
  duplicateVersions: await dup(sql`select job_id as k from model_versions where org_id = ${orgId} group by job_id having count(*) > 1`),
  duplicateVariants: await dup(sql`select version_id || '/' || device || '/' || quantization as k from model_variants where org_id = ${orgId} group by 1 having count(*) > 1`),
  duplicateUsage: await dup(sql`select job_id || '/' || kind as k from usage_records where org_id = ${orgId} group by 1 having count(*) > 1`),
  orphanObjects,
  missingObjects: referenced.filter((k) => !stored.has(k)),
  staging,
  poolTasks,
  strandedPoolTasks: tasks.filter((t) => ended.has(t.jobId) && (t.state === 'queued' || t.state === 'running')).map((t) => `${t.id} (${t.state})`),
};
process.stdout.write(JSON.stringify(audit) + '\n');
await closeDb();
