import './env';
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { after, before } from 'node:test';
import { newId } from '@edgetune/contracts';
import { closeDb, db, migrateDatabase, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { uploadFile } from '../datasets/files';
import { signUp } from '../identity/accounts';
import { variantDownloadUrl } from '../models/publish';
import type { Caller } from '../tenant';

/** Applies migrations once per test file and closes the pool afterwards. */
export function useDatabase(): void {
  before(async () => {
    await migrateDatabase();
  });
  after(async () => {
    await closeDb();
  });
}

export const uniqueEmail = (tag = 'user') => `${tag}-${randomBytes(6).toString('hex')}@example.test`;

export const goodLine = (i = 0) =>
  JSON.stringify({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i}` }] });

export const goodJsonl = (n = 5) => Array.from({ length: n }, (_, i) => goodLine(i)).join('\n') + '\n';

/** Marks the user's e-mail address verified (what opening the verification link does). */
export async function markVerified(userId: string): Promise<void> {
  await db().update(schema.users).set({ emailVerifiedAt: new Date() }).where(eq(schema.users.id, userId));
}

/** A fresh organization with its owner, as a session caller (address verified unless told otherwise). */
export async function newOrg(tag = 'org', opts: { verified?: boolean } = {}): Promise<{ caller: Caller; orgId: string; userId: string; email: string }> {
  const email = uniqueEmail(tag);
  const r = await signUp({ email, password: 'correct horse battery staple', name: tag, orgName: `${tag} ${randomBytes(3).toString('hex')}` });
  const verified = opts.verified ?? true;
  if (verified) await markVerified(r.user.id);
  return { caller: { orgId: r.org.id, userId: r.user.id, role: 'owner', via: 'session', scopes: [], emailVerified: verified }, orgId: r.org.id, userId: r.user.id, email };
}

export async function* bytes(text: string, chunk = 17): AsyncGenerator<Uint8Array> {
  const b = Buffer.from(text);
  for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk);
}

/**
 * Writes a published model version with one variant directly (the rows the pipeline would
 * write), so read paths can be tested without running a workflow.
 */
export async function seedPublishedModel(orgId: string, fileId: string, content = Buffer.from('GGUF' + 'x'.repeat(1000))) {
  const jobId = newId('job');
  await db().insert(schema.jobs).values({
    id: jobId,
    orgId,
    baseModel: 'lfm2-tiny',
    trainingFileId: fileId,
    hyperparameters: { method: 'lora', n_epochs: 1, learning_rate: 2e-3, batch_size: 8, lora_rank: 16 },
    targetDevices: ['x86_64-avx2'],
    seed: 1,
    status: 'succeeded',
    workflowId: `fine-tune-${jobId}`,
    finishedAt: new Date(),
  });
  const versionId = newId('modelVersion');
  const name = `ft:lfm2-tiny:${orgId.slice(4, 10).toLowerCase()}:${randomBytes(3).toString('hex')}:1`;
  await db().update(schema.jobs).set({ fineTunedModel: name }).where(eqId(jobId));
  const variantId = newId('variant');
  const key = `orgs/${orgId}/models/${versionId}/${variantId}.gguf`;
  await storage().put(key, content);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const metrics = { prefill_tokens_per_second: 100, decode_tokens_per_second: 20, time_to_first_token_ms: 5, peak_rss_bytes: 1000, task_accuracy: 0.5, eval_examples: 2, threads: 4, repetitions: 3 };
  const fingerprint = { pool: 'local', hostname: 'test', os: 'linux', arch: 'x86_64', cpuModel: 'test cpu', cores: 4, isaFlags: ['avx2'], memoryBytes: 2 ** 30, llamaCppVersion: 'b0', profiles: ['x86_64-avx2'] };
  const [{ version }] = await db()
    .select({ version: sql<number>`coalesce(max(${schema.modelVersions.version}), 0)::int + 1` })
    .from(schema.modelVersions)
    .where(and(eq(schema.modelVersions.orgId, orgId), eq(schema.modelVersions.baseModel, 'lfm2-tiny')));
  await db()
    .insert(schema.modelVersions)
    .values({
      id: versionId,
      orgId,
      jobId,
      name,
      baseModel: 'lfm2-tiny',
      version,
      manifestKey: `orgs/${orgId}/models/${versionId}/manifest.json`,
      manifest: {
        model: name,
        version,
        base_model: 'lfm2-tiny',
        job: jobId,
        created_at: new Date().toISOString(),
        llama_cpp_version: 'b0',
        evaluation: { loss: 1, token_accuracy: 0.5, task_accuracy: 0.5, base_task_accuracy: 0, examples: 2 },
        variants: [
          {
            device: 'x86_64-avx2',
            quantization: 'Q8_0',
            format: 'gguf',
            size_bytes: content.length,
            sha256,
            download_url: variantDownloadUrl(name, variantId),
            selected: true,
            metrics,
            measured_on: { pool: 'local', cpu_model: 'test cpu', cores: 4, llama_cpp_version: 'b0' },
          },
        ],
      },
    });
  await db().insert(schema.modelVariants).values({
    id: variantId,
    orgId,
    versionId,
    device: 'x86_64-avx2',
    quantization: 'Q8_0',
    format: 'gguf',
    sizeBytes: content.length,
    sha256,
    storageKey: key,
    selected: true,
    metrics: { ...metrics, prefill_stdev: 1, decode_stdev: 0.5, fingerprint },
  });
  return { jobId, versionId, variantId, name, content, sha256 };
}

function eqId(id: string) {
  return eq(schema.jobs.id, id);
}

/** A small training file of the caller's organization (what a seeded model's job trained on). */
export function seedTrainingFile(caller: Caller) {
  return uploadFile(caller, { filename: 'train.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(3)) });
}
