/**
 * The whole path through the running platform, as a program would use it: operator bootstrap
 * with the admin CLI, the official OpenAI client for files and jobs, the platform REST API for
 * the manifest and ranged downloads. Needs the stack that `npm test` starts (BASE_URL).
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { Connection, Client } from '@temporalio/client';
import { recordHistories } from './record-histories';

import { BASE_URL, EVAL, TRAIN, newAccount, rest, waitForStatus } from './platform-client';

describe('fine-tuning through the OpenAI SDK and the REST API', () => {
  let a: ReturnType<typeof newAccount>;
  let b: ReturnType<typeof newAccount>;
  let trainingFile: string;
  let temporal: Client;

  before(async () => {
    assert.ok(TRAIN && EVAL, 'EDGETUNE_TEST_TRAIN_JSONL / EDGETUNE_TEST_EVAL_JSONL must be set by the test harness');
    a = newAccount('alice');
    b = newAccount('bob');
    temporal = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! }) });
  });
  after(async () => {
    await temporal.connection.close();
  });

  test('a malformed training file is refused with the line and the reason', async () => {
    const bad = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n{"messages": [ oops\n';
    await assert.rejects(
      a.client.files.create({ file: await toFile(Buffer.from(bad), 'bad.jsonl'), purpose: 'fine-tune' }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError, String(e));
        assert.equal(e.status, 400);
        assert.match(e.message, /line 2/i);
        return true;
      },
    );
    const list = await a.client.files.list();
    assert.equal(list.data.length, 0, 'nothing is stored for a refused file');
  });

  test('upload, fine-tune, publish and download', { timeout: 20 * 60_000 }, async () => {
    const file = await a.client.files.create({ file: await toFile(readFileSync(TRAIN), 'train.jsonl'), purpose: 'fine-tune' });
    trainingFile = file.id;
    assert.match(file.id, /^file-/);
    assert.equal(file.object, 'file');
    const validation = await a.client.files.create({ file: await toFile(readFileSync(EVAL), 'eval.jsonl'), purpose: 'fine-tune' });

    const job = await a.client.fineTuning.jobs.create({
      model: 'lfm2-tiny',
      training_file: file.id,
      validation_file: validation.id,
      suffix: 'routing',
    });
    assert.match(job.id, /^ftjob-/);
    assert.equal(job.object, 'fine_tuning.job');
    assert.ok(['validating_files', 'queued', 'running'].includes(job.status));

    const done = await waitForStatus(a.client, job.id, ['succeeded'], 15 * 60_000);
    assert.ok(done.fine_tuned_model, 'a succeeded job names its published model');
    assert.ok(done.finished_at);

    await recordHistories(temporal, `fine-tune-${job.id}`, 'sft');
    const events = await a.client.fineTuning.jobs.listEvents(job.id, { limit: 1000 });
    assert.ok(events.data.some((e) => /^Step \d+\/\d+: training loss=/.test(e.message)), 'training steps are reported as events');

    // The fine-tuned model is far better at the task than the untrained base.
    const detail = (await (await rest(a.key, `/jobs/${job.id}`)).json()) as { result?: { evaluation?: { task_accuracy: number; base_task_accuracy: number } }; stages?: unknown[] };
    const ev = detail.result?.evaluation;
    assert.ok(ev, `job detail has evaluation: ${JSON.stringify(detail).slice(0, 500)}`);
    assert.ok(ev.task_accuracy >= ev.base_task_accuracy + 0.5, `task accuracy ${ev.task_accuracy} vs base ${ev.base_task_accuracy}`);
    assert.ok(Array.isArray(detail.stages) && detail.stages.length >= 6, 'per-stage timings are recorded');

    // The checkpoint list (OpenAI's shape) carries the step and the metrics this job recorded.
    const trainingSteps = (detail.result as { training?: { steps: number; final_loss: number; checkpoints?: { step: number; size_bytes: number; save_seconds: number }[] } }).training;
    assert.ok(trainingSteps && trainingSteps.steps > 0);
    const checkpoints = await a.client.fineTuning.jobs.checkpoints.list(job.id);
    // The published model first, then every training checkpoint the trainer kept (at most 3), newest first.
    const kept = trainingSteps.checkpoints ?? [];
    assert.ok(kept.length >= 1 && kept.length <= 3, `kept checkpoints: ${JSON.stringify(kept)}`);
    assert.equal(checkpoints.data.length, 1 + kept.length);
    const [ckpt, ...training] = checkpoints.data;
    assert.deepEqual(training.map((c) => c.step_number), kept.map((c) => c.step).sort((x, y) => y - x));
    for (const c of training) {
      const k = kept.find((x) => x.step === c.step_number)!;
      assert.equal(c.fine_tuned_model_checkpoint, null, 'a training checkpoint is not a model to call');
      assert.equal((c as unknown as { size_bytes: number }).size_bytes, k.size_bytes);
      assert.equal((c as unknown as { save_seconds: number }).save_seconds, k.save_seconds);
      assert.equal(typeof c.metrics.train_loss, 'number', 'the loss at that step, from its progress event');
    }
    assert.equal(ckpt.fine_tuned_model_checkpoint, done.fine_tuned_model);
    assert.equal(ckpt.step_number, trainingSteps.steps);
    assert.equal(ckpt.metrics.step, trainingSteps.steps);
    assert.equal(ckpt.metrics.train_loss, trainingSteps.final_loss);
    assert.equal(ckpt.metrics.valid_loss, (ev as unknown as { loss: number }).loss);
    assert.ok(typeof ckpt.metrics.valid_mean_token_accuracy === 'number');

    const models = await a.client.models.list();
    assert.ok(models.data.some((m) => m.id === done.fine_tuned_model), 'the fine-tuned model is listed');

    const manifestRes = await rest(a.key, `/models/${encodeURIComponent(done.fine_tuned_model!)}`);
    assert.equal(manifestRes.status, 200);
    const manifest = (await manifestRes.json()) as {
      model: string;
      version: number;
      variants: { device: string; quantization: string; format: string; size_bytes: number; sha256: string; download_url: string; metrics: Record<string, number> }[];
      signature?: { value: string };
    };
    assert.equal(manifest.model, done.fine_tuned_model);
    // No quantizations named: every candidate of the device's profile is measured, F16 the reference.
    const quants = manifest.variants.map((v) => v.quantization).sort();
    assert.deepEqual(quants, ['F16', 'IQ4_XS', 'Q4_0', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0'], `variants: ${quants}`);
    for (const v of manifest.variants) {
      assert.equal(v.format, 'gguf');
      assert.match(v.sha256, /^[0-9a-f]{64}$/);
      assert.ok(v.metrics.decode_tokens_per_second > 0 && v.metrics.prefill_tokens_per_second > 0 && v.metrics.peak_rss_bytes > 0);
      assert.ok(v.metrics.task_accuracy >= 0 && v.metrics.task_accuracy <= 1);
    }
    // Quality of every variant against the job's F16, on the evaluation split.
    type Quality = { reference: string; kl_divergence_mean: number; kl_divergence_p99: number; same_top_token_percent: number; perplexity_ratio: number; chunks: number };
    const quality = (q: string) => (manifest.variants.find((v) => v.quantization === q)!.metrics as unknown as { quality?: Quality }).quality;
    for (const v of manifest.variants) {
      const q = quality(v.quantization);
      assert.ok(q, `${v.quantization} carries its quality against F16: ${JSON.stringify(v.metrics)}`);
      assert.equal(q.reference, 'F16');
      assert.ok(q.chunks >= 2 && q.kl_divergence_mean >= 0 && q.kl_divergence_p99 >= 0 && q.perplexity_ratio > 0);
      assert.ok(q.same_top_token_percent >= 0 && q.same_top_token_percent <= 100);
      // The GGUF's template rendered the first eval prompt to the very ids the trainer's HF tokenizer made.
      const parity = (v.metrics as unknown as { template_parity?: { matched: boolean; prompt_tokens: number } }).template_parity;
      assert.ok(parity?.matched && parity.prompt_tokens > 10, `${v.quantization} template parity: ${JSON.stringify(parity)}`);
    }
    assert.ok(quality('F16')!.kl_divergence_mean < 1e-4 && quality('F16')!.same_top_token_percent > 99.9, 'the F16 variant agrees with the reference');
    assert.ok(Math.abs(quality('F16')!.perplexity_ratio - 1) < 1e-6);
    assert.ok(quality('Q4_0')!.kl_divergence_mean > quality('F16')!.kl_divergence_mean, '4-bit weights diverge from F16 more than F16 itself');
    // K- and I-quants were quantized with an importance matrix of the customer's training data; one per job.
    const imatrix = (q: string) => (manifest.variants.find((v) => v.quantization === q) as unknown as { imatrix?: { sha256: string; dataset: string; chunks: number } }).imatrix;
    for (const q of ['Q6_K', 'Q5_K_M', 'Q4_K_M', 'IQ4_XS']) {
      assert.equal(imatrix(q)?.dataset, 'training sample', `${q} records its importance matrix`);
      assert.equal(imatrix(q)?.sha256, imatrix('Q4_K_M')?.sha256);
    }
    for (const q of ['F16', 'Q8_0', 'Q4_0']) assert.equal(imatrix(q), undefined, `${q} is quantized without one`);
    assert.ok(
      events.data.some((e) => /Q4_0: .*against F16: KL-divergence [0-9.e-]+ \(p99 [0-9.e-]+\), same top token [0-9.]+ %, perplexity ×[0-9.]+/.test(e.message)),
      'the benchmark event states the quality against F16',
    );

    // Download one variant whole and by range; the bytes match the manifest.
    const v = manifest.variants[0];
    const auth = { authorization: `Bearer ${a.key}` };
    const whole = await fetch(v.download_url.replace(/^https?:\/\/[^/]+/, BASE_URL), { headers: auth });
    assert.equal(whole.status, 200);
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.equal(bytes.length, v.size_bytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), v.sha256);
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
    const part = await fetch(v.download_url.replace(/^https?:\/\/[^/]+/, BASE_URL), { headers: { ...auth, range: 'bytes=4-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 4-99/${v.size_bytes}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(4, 100));

    // Another organization cannot see any of it.
    assert.equal((await rest(b.key, `/models/${encodeURIComponent(done.fine_tuned_model!)}`)).status, 404);
    assert.equal((await rest(b.key, `/jobs/${job.id}`)).status, 404);
    await assert.rejects(b.client.fineTuning.jobs.retrieve(job.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    await assert.rejects(b.client.files.retrieve(file.id), (e: unknown) => e instanceof OpenAI.NotFoundError);

    // The manifest is the document the platform key signed.
    assert.ok(manifest.signature, 'the manifest is signed');
    assert.ok(process.env.SIGNING_KEY_FILE, 'SIGNING_KEY_FILE is set by the test stack');
    const { signature, ...unsigned } = manifest as Record<string, unknown> & { signature: { value: string } };
    const { canonicalJson } = await import('@edgetune/api/pipeline');
    const pub = createPublicKey(readFileSync(process.env.SIGNING_KEY_FILE));
    assert.ok(verify(null, Buffer.from(canonicalJson(unsigned)), pub, Buffer.from(signature.value, 'base64')), 'manifest signature verifies');
  });

  test('cancelling a running job stops the trainer', { timeout: 10 * 60_000 }, async () => {
    assert.ok(trainingFile, 'needs the uploaded training file');
    const job = await a.client.fineTuning.jobs.create({ model: 'lfm2-tiny', training_file: trainingFile, hyperparameters: { n_epochs: 20 } });
    // Wait until the trainer reports steps, then cancel.
    const deadline = Date.now() + 5 * 60_000;
    for (;;) {
      const events = await a.client.fineTuning.jobs.listEvents(job.id, { limit: 100 });
      if (events.data.some((e) => /^Step \d+/.test(e.message))) break;
      assert.ok(Date.now() < deadline, 'training never started');
      await sleep(1000);
    }
    const cancelling = await a.client.fineTuning.jobs.cancel(job.id);
    assert.equal(cancelling.id, job.id);
    await waitForStatus(a.client, job.id, ['cancelled'], 3 * 60_000);
    // The job row says cancelled a moment before the workflow itself closes: wait for that.
    const handle = temporal.workflow.getHandle(`fine-tune-${job.id}`);
    let desc = await handle.describe();
    for (let i = 0; i < 60 && desc.status.name === 'RUNNING'; i++) {
      await sleep(1000);
      desc = await handle.describe();
    }
    assert.equal(desc.status.name, 'CANCELLED');
    // The trainer acknowledged the cancellation (the workflow waits for that before it ends).
    const history = await temporal.workflow.getHandle(`fine-tune-${job.id}`).fetchHistory();
    const trainScheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainer.train');
    assert.ok(trainScheduled, 'training was scheduled');
    const acknowledged = history.events!.find((e) => e.activityTaskCanceledEventAttributes && Number(e.activityTaskCanceledEventAttributes.scheduledEventId) === Number(trainScheduled.eventId));
    assert.ok(acknowledged, 'the trainer acknowledged the cancellation and stopped');
    await recordHistories(temporal, `fine-tune-${job.id}`, 'cancelled');
    await assert.rejects(a.client.fineTuning.jobs.cancel(job.id), (e: unknown) => e instanceof OpenAI.APIError && e.status === 409);
  });

  test('a job whose budgets no candidate meets fails naming, for each candidate, the budget it broke', { timeout: 8 * 60_000 }, async () => {
    const lines = readFileSync(TRAIN, 'utf8').trim().split('\n').slice(0, 40);
    const file = await a.client.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'small.jsonl'), purpose: 'fine-tune' });
    // Budgets for every target, overridden for this one: the override is what the candidates break.
    const job = await a.client.fineTuning.jobs.create({
      model: 'lfm2-tiny',
      training_file: file.id,
      hyperparameters: { n_epochs: 1 },
      ...({
        target_devices: ['x86_64-avx2'],
        quantizations: ['Q8_0', 'Q4_0'],
        budgets: { max_size_bytes: 1_000_000_000 },
        target_budgets: { 'x86_64-avx2': { max_size_bytes: 1000, min_decode_tokens_per_second: 10_000_000 } },
      } as object),
    });
    const failed = await waitForStatus(a.client, job.id, ['failed', 'succeeded'], 7 * 60_000);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'budget_not_met', JSON.stringify(failed.error));
    assert.equal(failed.error?.param, 'budgets');
    assert.match(
      failed.error?.message ?? '',
      /^no quantization of the model meets the budgets of x86_64-avx2: Q8_0 \(max_size_bytes: [\d.]+ MB measured, at most 1000 bytes allowed; min_decode_tokens_per_second: [\d.]+ tok\/s measured, at least 10000000\.0 tok\/s allowed\), Q4_0 \(max_size_bytes: .*\)$/,
    );
    const rec = (await (await rest(a.key, `/jobs/${job.id}`)).json()) as { budgets: unknown; target_budgets: unknown; model_version: unknown };
    assert.deepEqual(rec.budgets, { max_size_bytes: 1_000_000_000 });
    assert.deepEqual(rec.target_budgets, { 'x86_64-avx2': { max_size_bytes: 1000, min_decode_tokens_per_second: 10_000_000 } });
    assert.equal(rec.model_version, null, 'nothing was published');
  });

  test('an example longer than the job trains on is truncated, not a late failure', { timeout: 5 * 60_000 }, async () => {
    // The upload warns that training truncates long examples; the job keeps that promise: the
    // trainer's validation (the model's tokenizer, the job's maxSeqLen of 512 for lfm2-tiny) counts
    // the example as truncated, and the job goes on to training.
    const long = { messages: [{ role: 'user', content: Array.from({ length: 700 }, (_, i) => `word${i}`).join(' ') }, { role: 'assistant', content: 'ok' }] };
    const lines = [...readFileSync(TRAIN, 'utf8').trim().split('\n').slice(0, 40), JSON.stringify(long)];
    const file = await a.client.files.create({ file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'too-long.jsonl'), purpose: 'fine-tune' });
    const validation = await a.client.files.create({ file: await toFile(readFileSync(EVAL), 'eval.jsonl'), purpose: 'fine-tune' });
    const job = await a.client.fineTuning.jobs.create({ model: 'lfm2-tiny', training_file: file.id, validation_file: validation.id });
    let validated: string | undefined;
    for (let i = 0; i < 240 && !validated; i++) {
      const events = await a.client.fineTuning.jobs.listEvents(job.id, { limit: 100 });
      validated = events.data.find((e) => e.message.startsWith('Dataset validated'))?.message;
      const now = await a.client.fineTuning.jobs.retrieve(job.id);
      assert.notEqual(now.status, 'failed', `the job failed: ${JSON.stringify(now.error)}`);
      if (!validated) await sleep(1000);
    }
    assert.ok(validated, 'the dataset was validated');
    assert.match(validated, /41 training and \d+ evaluation examples/);
    assert.match(validated, /longest \d{3,}\)/);
    assert.match(validated, /; 1 example is longer than the 512 tokens a job trains on and trains on its first tokens$/);
    // Training is what comes next; the rest of the path is the happy-path test's. Stop here.
    await a.client.fineTuning.jobs.cancel(job.id);
    const cancelled = await waitForStatus(a.client, job.id, ['cancelled', 'succeeded'], 4 * 60_000);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.error, null);
  });
});
