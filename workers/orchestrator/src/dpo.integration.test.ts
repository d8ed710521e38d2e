/**
 * Preference tuning end to end: a preference dataset goes through the official OpenAI client with
 * OpenAI's `method: {type: 'dpo'}` and the real fineTuneJob workflow — validate, DPO training on
 * the trainer, evaluation, GGUF export, quantization and device benchmarks (on prompt + chosen as
 * chat), publish. The client talks to the `/v1` handler in-process; the workflow and the workers
 * are those of the running stack (TEMPORAL_ADDRESS, DATABASE_URL, STORAGE_URL).
 */
import { goodJsonl, inProcessOpenAI, newOrg, useDatabase } from '@edgetune/api/testing';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { apiKeys, jobs } from '@edgetune/api';
import type { Manifest } from '@edgetune/contracts';
import { storage } from '@edgetune/storage';
import { temporalClient, workflowIds } from '@edgetune/temporal';
import { recordHistories } from './record-histories';

useDatabase();

const ROOT = process.env.EDGETUNE_ROOT ?? path.resolve(import.meta.dirname, '../../..');

/** The synthetic routing task as preference pairs, written by the trainer's own generator. */
function preferenceData(nTrain: number, nEval: number): { train: Buffer; eval: Buffer } {
  const out = mkdtempSync(path.join(tmpdir(), 'edgetune-dpo-'));
  const trainer = path.join(ROOT, 'workers', 'trainer');
  const r = spawnSync(path.join(trainer, '.venv', 'bin', 'python'), ['-m', 'edgetune_trainer.synthetic', '--out', out, '--train', String(nTrain), '--eval', String(nEval), '--preference'], {
    cwd: trainer,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `synthetic preference data: ${r.stderr}`);
  return { train: readFileSync(path.join(out, 'train.jsonl')), eval: readFileSync(path.join(out, 'eval.jsonl')) };
}

async function waitForStatus(ai: OpenAI, id: string, status: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await ai.fineTuning.jobs.retrieve(id);
    if (job.status === status) return job;
    if (['failed', 'cancelled', 'succeeded'].includes(job.status)) {
      const events = await ai.fineTuning.jobs.listEvents(id, { limit: 100 });
      assert.fail(`job ${id} ended ${job.status} (${JSON.stringify(job.error)}), wanted ${status}; events: ${events.data.map((e) => e.message).join(' | ')}`);
    }
    assert.ok(Date.now() < deadline, `job ${id} still ${job.status} after ${timeoutMs / 1000} s`);
    await sleep(2000);
  }
}

describe('preference tuning (DPO) through the OpenAI SDK and the real workflow', () => {
  test('a DPO job trains, evaluates, benchmarks on prompt + chosen and publishes', { timeout: 20 * 60_000 }, async () => {
    const { caller, orgId } = await newOrg('dpo');
    const { key } = await apiKeys.createApiKey(caller, { name: 'dpo' });
    const ai = inProcessOpenAI(key);
    const data = preferenceData(96, 24);
    const train = await ai.files.create({ file: await toFile(data.train, 'prefs-train.jsonl'), purpose: 'fine-tune' });
    const validation = await ai.files.create({ file: await toFile(data.eval, 'prefs-eval.jsonl'), purpose: 'fine-tune' });
    const chat = await ai.files.create({ file: await toFile(Buffer.from(goodJsonl(4)), 'chat.jsonl'), purpose: 'fine-tune' });

    // OpenAI's method type must fit the file: DPO on conversations is refused, naming method.type.
    await assert.rejects(ai.fineTuning.jobs.create({ model: 'lfm2-tiny', training_file: chat.id, method: { type: 'dpo' } }), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.equal(e.param, 'method.type');
      assert.match(e.message, /'dpo' does not fit the training file; use 'supervised'/);
      return true;
    });
    await assert.rejects(
      ai.fineTuning.jobs.create({ model: 'lfm2-tiny', training_file: train.id, validation_file: chat.id }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'validation_file',
    );

    const job = await ai.fineTuning.jobs.create({
      model: 'lfm2-tiny',
      training_file: train.id,
      validation_file: validation.id,
      suffix: 'prefs',
      seed: 42, // a fixed data order: the reward-accuracy bound below is not left to chance
      method: { type: 'dpo', dpo: { hyperparameters: { beta: 0.1 } } },
      // Two candidates are enough here; the SFT path measures every one (fine-tune.integration).
      // A size budget (an extra body field) that the Q8_0 file (about 4.5 MB) breaks and Q4_K_M (about 2.6 MB) meets.
      ...({ quantizations: ['Q8_0', 'Q4_K_M'], budgets: { max_size_bytes: 3_500_000 } } as object),
    });
    assert.deepEqual((job as unknown as { budgets: unknown }).budgets, { max_size_bytes: 3_500_000 });
    assert.equal(job.method?.type, 'dpo');
    assert.equal(job.method?.dpo?.hyperparameters?.beta, 0.1);

    const done = await waitForStatus(ai, job.id, 'succeeded', 15 * 60_000);
    assert.ok(done.fine_tuned_model, 'a succeeded job names its published model');

    const events = await ai.fineTuning.jobs.listEvents(job.id, { limit: 1000 });
    const messages = events.data.map((e) => e.message);
    assert.ok(messages.some((m) => /^Step \d+\/\d+: training loss=[\d.]+, reward accuracy=[\d.]+, reward margin=-?[\d.]+$/.test(m)), 'DPO steps report reward accuracy and margin');
    assert.ok(messages.some((m) => /^Evaluation on 24 held-out preference pairs: DPO loss [\d.]+, reward accuracy/.test(m)), messages.join(' | '));

    const detail = await jobs.getJob(caller, job.id);
    assert.equal((detail.job.hyperparameters as { objective?: string }).objective, 'dpo');
    const ev = (detail.job.result as { evaluation?: Record<string, number> } | null)?.evaluation;
    assert.ok(ev, `the job has an evaluation: ${JSON.stringify(detail.job.result)}`);
    assert.equal(ev.examples, 24);
    // Held-out pairs: the tuned model prefers the right answer more often than chance.
    assert.ok(ev.reward_accuracy > 0.6, `held-out reward accuracy ${ev.reward_accuracy}`);
    assert.ok(ev.reward_margin > 0 && ev.loss < Math.log(2), `margin ${ev.reward_margin}, DPO loss ${ev.loss}`);
    assert.ok(ev.task_accuracy >= 0 && ev.task_accuracy <= 1);

    // Published: the manifest carries the preference metrics, every variant was benchmarked on
    // the eval pairs as chat (prompt + chosen).
    assert.ok(detail.version, 'a model version was published');
    const manifest = detail.version.manifest;
    assert.equal(manifest.evaluation.reward_accuracy, ev.reward_accuracy);
    assert.ok(detail.variants.length >= 2, `variants: ${detail.variants.length}`);
    for (const v of detail.variants) {
      const m = v.metrics;
      assert.equal(m.eval_examples, 24);
      assert.ok(m.task_accuracy >= 0 && m.task_accuracy <= 1 && m.decode_tokens_per_second > 0);
      assert.ok(m.template_parity?.matched, `${v.quantization}: the chat template parity check ran on prompt + chosen`);
    }
    // The selection: Q8_0 broke the size budget, so the Pareto front is Q4_K_M alone, and the reason says so.
    const selection = manifest.selection?.[0];
    assert.ok(selection, 'the manifest records how the variant was chosen');
    assert.equal(selection.selected, 'Q4_K_M');
    assert.equal(selection.budgets.max_size_bytes, 3_500_000);
    assert.deepEqual(selection.pareto_front, ['Q4_K_M']);
    assert.deepEqual(selection.rejected.map((r) => [r.quantization, r.broken.map((b) => b.budget)]), [['Q8_0', ['max_size_bytes']]]);
    assert.match(selection.reason, /^Q4_K_M: the smallest file \([\d.]+ MB\) of the 1 Pareto-optimal variant .*; 1 broke a budget \(Q8_0: max_size_bytes\)$/);
    assert.ok(messages.some((m) => m === `Selected for ${selection.device}: ${selection.reason}`), 'the selection event gives the reason');
    assert.deepEqual(detail.variants.filter((v) => v.selected).map((v) => v.quantization), ['Q4_K_M']);
    const chatEval = (await text(await storage().get(`orgs/${orgId}/jobs/${job.id}/data/eval-chat.jsonl`))).trim().split('\n');
    const first = JSON.parse(chatEval[0]) as { messages: { role: string; content: string }[] };
    const pair = JSON.parse(data.eval.toString('utf8').split('\n')[0]) as { chosen: string | { content: string }[] };
    const chosen = typeof pair.chosen === 'string' ? pair.chosen : pair.chosen[pair.chosen.length - 1].content;
    assert.deepEqual(first.messages.at(-1), { role: 'assistant', content: chosen });
    await recordHistories(await temporalClient(), workflowIds.fineTuneJob(job.id), 'dpo');
  });
});
