import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateTrainingMemory, loraParameters, modelArchitectures, planTrainingMemory, type MemoryEstimateInput } from './training-memory';

const GiB = 2 ** 30;
const base: MemoryEstimateInput = { modelId: 'lfm2-350m', method: 'lora', objective: 'sft', batchSize: 4, loraRank: 16, seqLen: 512, gradientCheckpointing: false };
const peak = (over: Partial<MemoryEstimateInput>) => estimateTrainingMemory({ ...base, ...over })!.peakBytes;

test("LoRA's trained parameters are what peft makes of the trainer's target modules", () => {
  // get_peft_model(r=16, train.LORA_TARGET_MODULES) on each configuration, counted by requires_grad.
  assert.equal(loraParameters(modelArchitectures['lfm2-350m'], 16), 5_996_544);
  assert.equal(loraParameters(modelArchitectures['lfm2-1.2b'], 16), 11_108_352);
  assert.equal(loraParameters(modelArchitectures['lfm2-tiny'], 16), 380_928);
});

test('in float32 the estimate is within 25 % of the peaks the trainer measured at LFM2-350M', () => {
  // `EDGETUNE_TRAIN_BF16=0 npm run bench:train-memory` on this 2-core machine (CPU, float32,
  // padding-free batches, the trainer's allocator set up as its worker runs it; peak resident GiB).
  const measured: [Partial<MemoryEstimateInput>, number][] = [
    [{ method: 'lora', batchSize: 2 }, 4.26 * GiB],
    [{ method: 'lora', batchSize: 4 }, 6.25 * GiB],
    [{ method: 'full', batchSize: 2 }, 7.05 * GiB],
    [{ method: 'full', batchSize: 4 }, 9.14 * GiB],
    [{ method: 'lora', batchSize: 4, gradientCheckpointing: true }, 2.96 * GiB],
    [{ method: 'full', batchSize: 4, gradientCheckpointing: true }, 6.58 * GiB],
  ];
  for (const [over, bytes] of measured) {
    const error = peak(over) / bytes - 1;
    assert.ok(Math.abs(error) <= 0.25, `${JSON.stringify(over)}: estimate ${(peak(over) / GiB).toFixed(2)} GiB, measured ${(bytes / GiB).toFixed(2)} GiB`);
  }
});

test('in bf16 compute the estimate is within 25 % of the peaks the trainer measured at LFM2-350M', () => {
  // `npm run bench:train-memory` on this 2-core machine (CPU with AVX512-BF16: bf16 autocast, LoRA's
  // frozen base in bf16, padding-free batches with logits at answer tokens only; peak resident GiB).
  const measured: [Partial<MemoryEstimateInput>, number][] = [
    [{ method: 'lora', batchSize: 2 }, 3.47 * GiB],
    [{ method: 'lora', batchSize: 4 }, 4.5 * GiB],
    [{ method: 'lora', batchSize: 2, objective: 'dpo' }, 4.69 * GiB],
    [{ method: 'full', batchSize: 2 }, 6.93 * GiB],
    [{ method: 'full', batchSize: 4 }, 8.38 * GiB],
    [{ method: 'lora', batchSize: 4, gradientCheckpointing: true }, 2.71 * GiB],
    [{ method: 'full', batchSize: 4, gradientCheckpointing: true }, 6.41 * GiB],
  ];
  for (const [over, bytes] of measured) {
    const estimate = peak({ ...over, bf16: true });
    const error = estimate / bytes - 1;
    assert.ok(Math.abs(error) <= 0.25, `${JSON.stringify(over)}: estimate ${(estimate / GiB).toFixed(2)} GiB, measured ${(bytes / GiB).toFixed(2)} GiB`);
  }
  // LoRA's frozen base is stored in bf16, its embedding in float32; full fine-tuning keeps float32 weights.
  const a = modelArchitectures['lfm2-350m'];
  assert.equal(estimateTrainingMemory({ ...base, bf16: true })!.weightsBytes, 2 * a.parameters + 2 * a.vocab * a.hiddenSize);
  assert.equal(estimateTrainingMemory({ ...base, method: 'full', bf16: true })!.weightsBytes, 4 * a.parameters);
  assert.ok(peak({ bf16: true }) < peak({}));
});

test('more tokens, full fine-tuning and DPO cost more; gradient checkpointing costs less', () => {
  assert.ok(peak({ batchSize: 8 }) > peak({ batchSize: 4 }));
  assert.ok(peak({ seqLen: 256 }) < peak({}));
  assert.ok(peak({ method: 'full' }) > peak({}));
  assert.ok(peak({ objective: 'dpo' }) > peak({}));
  assert.ok(peak({ gradientCheckpointing: true }) < peak({}));
  // Full fine-tuning holds 16 bytes per parameter before any activation.
  const full = estimateTrainingMemory({ ...base, method: 'full' })!;
  assert.ok(full.weightsBytes + full.optimizerBytes >= 16 * modelArchitectures['lfm2-350m'].parameters);
  assert.equal(estimateTrainingMemory({ ...base, modelId: 'not-a-model' }), null);
});

test('the plan switches gradient checkpointing on only when that is what makes the run fit', () => {
  const plain = peak({});
  const checkpointed = peak({ gradientCheckpointing: true });
  const input = { ...base } as Omit<MemoryEstimateInput, 'gradientCheckpointing'>;
  assert.deepEqual(
    [planTrainingMemory(input, null)!.fits, planTrainingMemory(input, null)!.estimate.gradientCheckpointing],
    [true, false],
    'unknown capacity: planned as it is',
  );
  const roomy = planTrainingMemory(input, plain + 1)!;
  assert.equal(roomy.estimate.gradientCheckpointing, false);
  assert.equal(roomy.fits, true);
  const tight = planTrainingMemory(input, plain - 1)!;
  assert.equal(tight.estimate.gradientCheckpointing, true);
  assert.equal(tight.estimate.peakBytes, checkpointed);
  assert.equal(tight.fits, true);
  const small = planTrainingMemory(input, checkpointed - 1)!;
  assert.equal(small.fits, false);
});
