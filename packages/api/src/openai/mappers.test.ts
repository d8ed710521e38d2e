import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainError } from '@edgetune/contracts';
import type { JobRow, VersionRow } from '../jobs/jobs';
import { fromOpenAICreateJob, inOpenAIWords, toOpenAICheckpoint, toOpenAICheckpoints, toOpenAIError, toOpenAIEvent, toOpenAIFile, toOpenAIJob } from './mappers';

const job = (over: Partial<JobRow> = {}): JobRow => ({
  id: 'ftjob-abc',
  orgId: 'org_1',
  createdBy: null,
  baseModel: 'lfm2-tiny',
  trainingFileId: 'file-1',
  validationFileId: null,
  hyperparameters: { method: 'lora', n_epochs: 3, learning_rate: 4e-3, batch_size: 8, lora_rank: 16 },
  targetDevices: ['x86_64-avx2'],
  targetPools: [],
  trainingPool: null,
  quantizations: null,
  budgets: null,
  memoryPlan: null,
  suffix: 'demo',
  seed: 42,
  status: 'running',
  error: null,
  workflowId: 'fine-tune-ftjob-abc',
  fineTunedModel: null,
  trainedTokens: null,
  result: null,
  createdAt: new Date('2025-01-01T00:00:00Z'),
  startedAt: null,
  finishedAt: null,
  ...over,
});

test('job object has OpenAI fields and edgetune extras', () => {
  const o = toOpenAIJob(job());
  assert.equal(o.object, 'fine_tuning.job');
  assert.equal(o.created_at, 1735689600);
  assert.equal(o.finished_at, null);
  assert.equal(o.model, 'lfm2-tiny');
  assert.equal(o.fine_tuned_model, null);
  assert.equal(o.status, 'running');
  assert.equal(o.error, null);
  assert.equal(o.hyperparameters.n_epochs, 3);
  assert.equal(o.hyperparameters.learning_rate_multiplier, 4); // relative to lfm2-tiny's LoRA default (1e-3)
  assert.deepEqual(o.result_files, []);
  assert.deepEqual(o.integrations, []);
  assert.equal(o.metadata, null);
  assert.equal(o.estimated_finish, null);
  assert.equal(o.user_provided_suffix, 'demo');
  assert.equal(o.method.type, 'supervised');
  assert.deepEqual(o.target_devices, ['x86_64-avx2']);
  assert.equal(o.organization_id, 'org_1');
  assert.equal(o.seed, 42);
});

test('succeeded job exposes fine_tuned_model; failed job exposes error', () => {
  assert.equal(toOpenAIJob(job({ status: 'succeeded', fineTunedModel: 'ft:lfm2-tiny:org:demo:1' })).fine_tuned_model, 'ft:lfm2-tiny:org:demo:1');
  const failed = toOpenAIJob(job({ status: 'failed', error: { code: 'invalid_training_file', message: 'bad', param: 'training_file' } }));
  assert.deepEqual(failed.error, { code: 'invalid_training_file', message: 'bad', param: 'training_file' });
});

test('file and event objects', () => {
  const f = toOpenAIFile({ id: 'file-1', orgId: 'o', filename: 'a.jsonl', purpose: 'fine-tune', bytes: 10, sha256: 'x', storageKey: 'k', examples: 1, stats: {}, datasetId: null, version: null, format: 'chat', source: null, report: null, createdBy: null, createdAt: new Date(5000) });
  assert.deepEqual(f, { id: 'file-1', object: 'file', bytes: 10, created_at: 5, expires_at: null, filename: 'a.jsonl', purpose: 'fine-tune', status: 'processed', status_details: null });
  const e = toOpenAIEvent({ seq: 1, id: 'ftevent-1', orgId: 'o', jobId: 'j', level: 'info', type: 'metrics', message: 'step 1', data: { step: 1 }, dedupeKey: 'd', createdAt: new Date(2000) });
  assert.deepEqual(e, { id: 'ftevent-1', object: 'fine_tuning.job.event', created_at: 2, level: 'info', message: 'step 1', data: { step: 1 }, type: 'metrics' });
});

test('an event recorded as a fact is described when read; its data is the fact', () => {
  const data = { kind: 'queued' as const, pool: 'local' };
  const e = toOpenAIEvent({ seq: 2, id: 'ftevent-2', orgId: 'o', jobId: 'j', level: 'info', type: 'message', message: null, data, dedupeKey: 'queued', createdAt: new Date(3000) });
  assert.deepEqual(e, { id: 'ftevent-2', object: 'fine_tuning.job.event', created_at: 3, level: 'info', message: 'Queued for training on pool local', data, type: 'message' });
});

test('create body: OpenAI hyperparameters and method map to the job schema', () => {
  const r = fromOpenAICreateJob({
    model: 'lfm2-tiny',
    training_file: 'file-1',
    hyperparameters: { n_epochs: 2, batch_size: 'auto', learning_rate_multiplier: 0.5 },
    suffix: 'x',
    seed: 7,
    target_devices: ['x86_64-avx2'],
  });
  assert.deepEqual(r, {
    model: 'lfm2-tiny',
    training_file: 'file-1',
    hyperparameters: { n_epochs: 2, learning_rate: 2.5e-4 }, // no method given: lfm2-tiny's default (full, lr 5e-4) applies
    suffix: 'x',
    seed: 7,
    target_devices: ['x86_64-avx2'],
  });
  const m = fromOpenAICreateJob({ model: 'm', training_file: 'f', method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 4, lora_rank: 8 } } }, training_type: 'full' });
  assert.deepEqual(m.hyperparameters, { method: 'full', objective: 'sft', n_epochs: 4, lora_rank: 8 });
  assert.throws(() => fromOpenAICreateJob({ model: 'm', training_file: 'f', method: { type: 'reinforcement' } }), /method.type/);
  assert.throws(() => fromOpenAICreateJob({ model: 'm', training_file: 'f', bogus: 1 }), /bogus/);
});

test('errors map to OpenAI format and status', () => {
  const unauth = toOpenAIError(new DomainError('unauthenticated', 'Incorrect API key provided.'));
  assert.equal(unauth.status, 401);
  assert.equal(unauth.body.error.code, 'invalid_api_key');
  const nf = toOpenAIError(new DomainError('not_found', 'nope', { param: 'id' }));
  assert.equal(nf.status, 404);
  assert.equal(nf.body.error.type, 'invalid_request_error');
  const bad = toOpenAIError(new DomainError('validation_failed', 'Line 3: bad', { param: 'file' }));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, 'file');
  assert.match(bad.body.error.message, /Line 3/);
});

test('method.type names the objective: dpo carries beta, supervised is sft', () => {
  const dpo = fromOpenAICreateJob({ model: 'lfm2-tiny', training_file: 'f', method: { type: 'dpo', dpo: { hyperparameters: { beta: 0.25, n_epochs: 2 } } } });
  assert.deepEqual(dpo.hyperparameters, { objective: 'dpo', beta: 0.25, n_epochs: 2 });
  assert.deepEqual(fromOpenAICreateJob({ model: 'm', training_file: 'f', method: { type: 'dpo', dpo: { hyperparameters: { beta: 'auto' } } } }).hyperparameters, { objective: 'dpo' });
  assert.deepEqual(fromOpenAICreateJob({ model: 'm', training_file: 'f', method: { type: 'supervised' } }).hyperparameters, { objective: 'sft' });
  // No method: the objective is left to the training file's format.
  assert.deepEqual(fromOpenAICreateJob({ model: 'm', training_file: 'f' }).hyperparameters, {});
  assert.throws(() => fromOpenAICreateJob({ model: 'm', training_file: 'f', method: { type: 'dpo' }, hyperparameters: { objective: 'sft' } }), /contradicts/);
  assert.throws(() => fromOpenAICreateJob({ model: 'm', training_file: 'f', method: { type: 'dpo', dpo: { hyperparameters: { beta: 'high' } } } }), /hyperparameters.beta/);
  // A multiplier scales the DPO default (lfm2-tiny full: 2e-4) when the file holds preference pairs.
  const mult = fromOpenAICreateJob({ model: 'lfm2-tiny', training_file: 'f', hyperparameters: { learning_rate_multiplier: 2 } }, 'dpo');
  assert.equal(mult.hyperparameters?.learning_rate, 4e-4);

  const dpoJob = toOpenAIJob(job({ hyperparameters: { method: 'full', objective: 'dpo', n_epochs: 5, learning_rate: 2e-4, batch_size: 8, lora_rank: 16, beta: 0.3 } }));
  assert.equal(dpoJob.method.type, 'dpo');
  assert.ok(dpoJob.method.type === 'dpo' && dpoJob.method.dpo.hyperparameters.beta === 0.3);
  assert.equal(dpoJob.hyperparameters.learning_rate_multiplier, 1, 'relative to the DPO default');
  // Jobs stored before DPO existed have no objective: supervised.
  assert.equal(toOpenAIJob(job()).method.type, 'supervised');

  const mismatch = new DomainError('invalid_request', "Objective 'dpo' needs preference pairs.", { param: 'hyperparameters.objective' });
  const worded = inOpenAIWords(mismatch, { method: { type: 'dpo' } }) as DomainError;
  assert.equal(worded.param, 'method.type');
  assert.match(worded.message, /'dpo' does not fit the training file; use 'supervised'/);
  assert.equal(inOpenAIWords(mismatch, {}), mismatch, 'without method.type the domain words stay');
});

test('the checkpoints list: the published model, then the kept training checkpoints newest first with loss, size and save time', () => {
  const training = {
    objective: 'sft' as const,
    steps: 100,
    final_loss: 0.3,
    tokens_per_second: 900,
    duration_s: 12,
    resumed_from_step: 0,
    checkpoints: [
      { step: 50, size_bytes: 1000, save_seconds: 0.3 },
      { step: 75, size_bytes: 1001, save_seconds: 0.25 },
    ],
  };
  const version = { id: 'mv_abc', name: 'ft:lfm2-tiny:o:demo:abc', createdAt: new Date(2000) } as VersionRow;
  const list = toOpenAICheckpoints(job({ status: 'succeeded', result: { training }, finishedAt: new Date(3000) }), version, new Map([[75, 0.5]]));
  assert.deepEqual(list.map((c) => [c.step_number, c.fine_tuned_model_checkpoint]), [[100, version.name], [75, null], [50, null]]);
  assert.deepEqual(list[1], {
    id: 'ftckpt-abc-step-75',
    object: 'fine_tuning.job.checkpoint',
    created_at: 3,
    fine_tuned_model_checkpoint: null,
    fine_tuning_job_id: 'ftjob-abc',
    step_number: 75,
    metrics: { step: 75, train_loss: 0.5, valid_loss: null, valid_mean_token_accuracy: null },
    size_bytes: 1001,
    save_seconds: 0.25,
  });
  assert.equal(list[2].metrics.train_loss, null, 'no progress event for that step: no loss');
  // A failed job keeps its training checkpoints (what a new job could resume from), with no model.
  assert.deepEqual(toOpenAICheckpoints(job({ status: 'failed', result: { training } }), null, new Map()).map((c) => c.step_number), [75, 50]);
});

test('a checkpoint carries the training and evaluation numbers the job recorded', () => {
  const result = {
    training: { objective: 'sft' as const, steps: 38, final_loss: 0.42, tokens_per_second: 900, duration_s: 12, resumed_from_step: 0 },
    evaluation: { loss: 0.5, token_accuracy: 0.81, task_accuracy: 0.9, base_task_accuracy: 0.2, examples: 30 },
  };
  const version = { id: 'mv_abc', name: 'ft:lfm2-tiny:o:demo:abc', createdAt: new Date(2000) } as VersionRow;
  const c = toOpenAICheckpoint(job({ status: 'succeeded', result }), version);
  assert.equal(c.step_number, 38);
  assert.deepEqual(c.metrics, { step: 38, train_loss: 0.42, valid_loss: 0.5, valid_mean_token_accuracy: 0.81 });
  assert.deepEqual(toOpenAICheckpoint(job({ result: null }), version).metrics, { step: 0, train_loss: null, valid_loss: null, valid_mean_token_accuracy: null });
});
