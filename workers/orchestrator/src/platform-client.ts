/**
 * A program's view of the running platform for the integration tests that drive it over HTTP:
 * accounts made with the admin CLI, the official OpenAI client, the REST API, and job polling.
 * Needs the stack that `npm test` starts (BASE_URL).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';

export const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:3100';
export const ROOT = process.env.EDGETUNE_ROOT ?? path.resolve(import.meta.dirname, '../../..');
export const TRAIN = process.env.EDGETUNE_TEST_TRAIN_JSONL!;
export const EVAL = process.env.EDGETUNE_TEST_EVAL_JSONL!;

export function admin(args: string[], input = ''): string {
  const r = spawnSync('bash', [path.join(ROOT, 'infra/run-ts.sh'), path.join(ROOT, 'packages/api/src/cli/admin.ts'), ...args], {
    env: process.env,
    encoding: 'utf8',
    input,
  });
  assert.equal(r.status, 0, `admin ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

/** A user, its organization and an API key (the admin CLI's default scopes unless `scopes` says otherwise). */
export function newAccount(tag: string, scopes?: string): { email: string; key: string; client: OpenAI } {
  const email = `${tag}-${Date.now()}@example.com`;
  const org = `${tag} org ${Date.now()}`;
  admin(['create-user', '--email', email, '--org', org], 'correct horse battery staple\n');
  const key = admin(['create-api-key', '--email', email, '--org', org, ...(scopes ? ['--scopes', scopes] : [])]).trim().split('\n').pop()!.trim();
  return { email, key, client: new OpenAI({ baseURL: `${BASE_URL}/v1`, apiKey: key, maxRetries: 0 }) };
}

export async function rest(key: string, p: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${BASE_URL}/api/v1${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
}

export async function waitForStatus(client: OpenAI, id: string, statuses: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (statuses.includes(job.status)) return job;
    if (['failed', 'cancelled', 'succeeded'].includes(job.status)) {
      const events = await client.fineTuning.jobs.listEvents(id, { limit: 100 });
      assert.fail(`job ${id} ended ${job.status} (${JSON.stringify(job.error)}), wanted ${statuses}; events: ${events.data.map((e) => e.message).join(' | ')}`);
    }
    assert.ok(Date.now() < deadline, `job ${id} still ${job.status} after ${timeoutMs / 1000} s`);
    await sleep(2000);
  }
}
