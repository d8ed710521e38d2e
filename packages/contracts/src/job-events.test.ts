import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeJobEvent, describeJobFact, jobEventFactSchema, jobEventLevel, jobEventType, type JobEventFact } from './job-events';

// Sentences the workflow wrote itself before facts existed, from the recorded runs of
// workers/orchestrator/src/workflows/histories, with the facts the workflow now records instead.
const bench = {
  device: 'x86_64-avx2',
  quantization: 'Q8_0',
  size_bytes: 4540896,
  prefillTokensPerSecond: 18025.084058,
  prefillStdev: 593.074418,
  decodeTokensPerSecond: 5380.721685,
  decodeStdev: 126.284394,
  timeToFirstTokenMs: 7.825317999999925,
  peakRssBytes: 170188800,
  sizeBytes: 4540896,
  taskAccuracy: 1,
  evalExamples: 60,
  threads: 2,
  repetitions: 5,
  fingerprint: { pool: 'local', cpuModel: 'AMD EPYC', cores: 2 },
};
const cases: [JobEventFact, string][] = [
  [{ kind: 'validating' }, 'Validating training file'],
  [
    { kind: 'dataset_validated', base_model: 'lfm2-tiny', objective: 'sft', train_examples: 300, eval_examples: 60, train_tokens: 13726, max_tokens: 50, held_out_from_training: false },
    "Dataset validated with lfm2-tiny's tokenizer: 300 training and 60 evaluation examples, 13726 training tokens (longest 50)",
  ],
  [
    { kind: 'dataset_validated', base_model: 'lfm2-tiny', objective: 'dpo', train_examples: 96, eval_examples: 24, train_tokens: 6574, max_tokens: 50, held_out_from_training: false },
    "Dataset validated with lfm2-tiny's tokenizer: 96 training and 24 evaluation preference pairs, 6574 training tokens (longest 50)",
  ],
  [
    { kind: 'dataset_validated', base_model: 'lfm2-tiny', objective: 'sft', train_examples: 270, eval_examples: 30, train_tokens: 12347, max_tokens: 50, held_out_from_training: true },
    "Dataset validated with lfm2-tiny's tokenizer: 270 training and 30 evaluation examples, 12347 training tokens (longest 50); evaluation examples held out from the training file",
  ],
  [
    {
      kind: 'dataset_validated', base_model: 'lfm2-350m', objective: 'sft', train_examples: 270, eval_examples: 30, train_tokens: 12347, max_tokens: 700,
      held_out_from_training: true, held_out_near_duplicates: 2, truncated_examples: 1, max_seq_len: 512,
    },
    "Dataset validated with lfm2-350m's tokenizer: 270 training and 30 evaluation examples, 12347 training tokens (longest 700); evaluation examples held out from the training file (2 of them have a near-duplicate in training, which flatters their accuracy); 1 example is longer than the 512 tokens a job trains on and trains on its first tokens",
  ],
  [{ kind: 'queued', pool: 'local' }, 'Queued for training on pool local'],
  [
    { kind: 'waiting_for_device', device: 'arm64-phone', pool: 'phone-lab', wait_minutes: 30 },
    'Waiting for a device of profile arm64-phone in pool phone-lab: no agent serving it is online (the job fails if none comes online within 30 minutes)',
  ],
  [{ kind: 'training_started', worker: '25248@vm' }, 'Training started on pool 25248@vm'],
  [{ kind: 'training_started', worker: null }, 'Training started on pool unknown'],
  [
    { kind: 'training_step', step: 3, total_steps: 10, epoch: 0.3, train_loss: 0.5123, learning_rate: 1e-4, tokens_per_second: 900, checkpoint: null },
    'Step 3/10: training loss=0.5123',
  ],
  [
    { kind: 'training_step', step: 3, total_steps: 10, epoch: 0.3, train_loss: 0.5123, learning_rate: 1e-4, tokens_per_second: 900, checkpoint: 'k', reward_accuracy: 0.75, reward_margin: null },
    'Step 3/10: training loss=0.5123, reward accuracy=0.750, reward margin=0.0000',
  ],
  [
    { kind: 'training_finished', objective: 'sft', steps: 190, final_loss: 0.00002, tokens_per_second: 2169.4, resumed_from_step: 0 },
    'Training finished: 190 steps, final loss 0.0000, 2169 tokens/s',
  ],
  [
    { kind: 'training_finished', objective: 'dpo', steps: 60, final_loss: 0.06341, tokens_per_second: 1558.6, resumed_from_step: 20 },
    'Training (DPO) finished: 60 steps, final loss 0.0634, 1559 tokens/s (resumed from step 20)',
  ],
  [
    { kind: 'training_finished', objective: 'sft', steps: 40, final_loss: 0.5, tokens_per_second: 51234.4, resumed_from_step: 0, hardware: 'NVIDIA H100 80GB HBM3 (bf16)' },
    'Training finished: 40 steps, final loss 0.5000, 51234 tokens/s on NVIDIA H100 80GB HBM3 (bf16)',
  ],
  [
    { kind: 'evaluated', objective: 'sft', baseTaskAccuracy: 0, examples: 60, loss: 2.9536394019184325e-5, taskAccuracy: 1, tokenAccuracy: 1 },
    'Evaluation on 60 held-out examples: loss 0.0000, token accuracy 100.0 %, task accuracy 100.0 % (base model: 0.0 %)',
  ],
  [
    {
      kind: 'evaluated',
      objective: 'dpo',
      baseTaskAccuracy: 0,
      examples: 24,
      loss: 0.5512015223503113,
      rewardAccuracy: 0.75,
      rewardMargin: 1.0876109600067139,
      taskAccuracy: 0,
      tokenAccuracy: 0.14583333333333334,
    },
    'Evaluation on 24 held-out preference pairs: DPO loss 0.5512, reward accuracy 75.0 % (margin 1.088), token accuracy 14.6 %, task accuracy 0.0 % (base model: 0.0 %)',
  ],
  [
    { kind: 'exported', size_bytes: 8478336, llama_cpp_version: 'v0.5.0 de3ff815ea7d559ee917f063901b8986f038abc6' },
    'Merged and exported GGUF F16 (8478336 bytes, llama.cpp v0.5.0 de3ff815ea7d559ee917f063901b8986f038abc6)',
  ],
  [
    { kind: 'variant_benchmarked', ...bench },
    'x86_64-avx2 Q8_0: 4.5 MB, prefill 18025 tok/s, decode 5381 tok/s, TTFT 8 ms, peak RSS 170 MB, task accuracy 100.0 % (measured on AMD EPYC)',
  ],
  [
    {
      kind: 'variant_benchmarked',
      ...bench,
      quantization: 'Q4_0',
      quality: { klDivergenceMean: 0.0312345, klDivergenceP99: 0.41, sameTopTokenPercent: 95.432, perplexityRatio: 1.0288 },
    },
    'x86_64-avx2 Q4_0: 4.5 MB, prefill 18025 tok/s, decode 5381 tok/s, TTFT 8 ms, peak RSS 170 MB, task accuracy 100.0 %, against F16: KL-divergence 0.031 (p99 0.41), same top token 95.4 %, perplexity ×1.029 (measured on AMD EPYC)',
  ],
  [
    { kind: 'variant_benchmarked', ...bench, qualitySkipped: 'the evaluation split has 40 tokens; quality against F16 needs at least 64' },
    'x86_64-avx2 Q8_0: 4.5 MB, prefill 18025 tok/s, decode 5381 tok/s, TTFT 8 ms, peak RSS 170 MB, task accuracy 100.0 %, quality against F16 not measured (the evaluation split has 40 tokens; quality against F16 needs at least 64) (measured on AMD EPYC)',
  ],
  [
    { kind: 'variant_selected', device: 'x86_64-avx2', selected: 'Q4_K_M', best_task_accuracy: 1, tolerance: 0.02 },
    'Selected Q4_K_M for x86_64-avx2: smallest variant within 2 points of the best task accuracy (100.0 %) that fits the budgets',
  ],
  [
    { kind: 'published', model: 'ft:lfm2-tiny:alice-org-1796496532792:routing:pcVbiG7z', version: 1, variants: 2 },
    'Published ft:lfm2-tiny:alice-org-1796496532792:routing:pcVbiG7z (version 1) with 2 variants',
  ],
  [{ kind: 'succeeded' }, 'The job has successfully completed'],
  [{ kind: 'cancelled', stage: 'train' }, 'The job was cancelled during train'],
  [{ kind: 'cancelled', stage: null }, 'The job was cancelled'],
  [
    { kind: 'failed', stage: 'validate', code: 'invalid_training_file', error: 'train split, line 41: example has 1720 tokens, longer than maxSeqLen (512)' },
    'The job failed during validate: train split, line 41: example has 1720 tokens, longer than maxSeqLen (512)',
  ],
];

test('each fact reads as the sentence the workflow used to write', () => {
  for (const [fact, sentence] of cases) {
    assert.equal(describeJobFact(fact), sentence);
    // Stored as JSON, read back through the schema: the same sentence.
    assert.equal(describeJobEvent({ message: null, data: JSON.parse(JSON.stringify(fact)) }), sentence);
  }
  const kinds = new Set(cases.map(([f]) => f.kind));
  assert.deepEqual([...kinds].sort(), jobEventFactSchema.options.map((o) => o.shape.kind.value).sort(), 'every kind has a case');
});

test('a diverged loss, stored as null, reads as NaN as before', () => {
  const step = { kind: 'training_step', step: 1, total_steps: 2, epoch: 0.5, train_loss: NaN, learning_rate: 1e-4, tokens_per_second: 1, checkpoint: null };
  assert.equal(describeJobEvent({ message: null, data: JSON.parse(JSON.stringify(step)) }), 'Step 1/2: training loss=NaN');
});

test('events written before facts show their sentence as written', () => {
  assert.equal(describeJobEvent({ message: 'Queued for training on pool old', data: null }), 'Queued for training on pool old');
  assert.equal(describeJobEvent({ message: 'Step 1/2: training loss=1.0000', data: { step: 1 } }), 'Step 1/2: training loss=1.0000');
});

test('a stored fact keeps the fields it was given beyond those its sentence reads', () => {
  const parsed = jobEventFactSchema.parse(JSON.parse(JSON.stringify({ kind: 'variant_benchmarked', ...bench })));
  assert.equal((parsed as Record<string, unknown>).prefillStdev, 593.074418);
});

test('a fact that does not parse is refused with the field named', () => {
  assert.throws(() => describeJobEvent({ message: null, data: { kind: 'queued' } }), /pool/);
  assert.throws(() => describeJobEvent({ message: null, data: { kind: 'rewritten' } }), /kind/);
});

test('level and type follow the kind', () => {
  assert.equal(jobEventLevel({ kind: 'failed', stage: null, code: 'internal_error', error: 'x' }), 'error');
  assert.equal(jobEventLevel({ kind: 'cancelled', stage: null }), 'info');
  assert.equal(jobEventType({ kind: 'variant_benchmarked', ...bench }), 'metrics');
  assert.equal(jobEventType({ kind: 'queued', pool: 'p' }), 'message');
});
