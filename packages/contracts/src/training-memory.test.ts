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

test('the estimate is within 25 % of the peaks the trainer measured at LFM2-350M', () => {
  // `npm run bench:train-memory` on this 2-core machine (CPU, float32, the trainer's allocator set
  // up as its worker runs it; peak resident GiB).
  const measured: [Partial<MemoryEstimateInput>, number][] = [
    [{ method: 'lora', batchSize: 2 }, 4.78 * GiB],
    [{ method: 'lora', batchSize: 4 }, 7.14 * GiB],
    [{ method: 'lora', batchSize: 2, objective: 'dpo' }, 7.63 * GiB],
    [{ method: 'full', batchSize: 2 }, 7.46 * GiB],
    [{ method: 'full', batchSize: 4 }, 10.04 * GiB],
    [{ method: 'lora', batchSize: 4, gradientCheckpointing: true }, 3.84 * GiB],
    [{ method: 'full', batchSize: 4, gradientCheckpointing: true }, 6.57 * GiB],
  ];
  for (const [over, bytes] of measured) {
    const error = peak(over) / bytes - 1;
    assert.ok(Math.abs(error) <= 0.25, `${JSON.stringify(over)}: estimate ${(peak(over) / GiB).toFixed(2)} GiB, measured ${(bytes / GiB).toFixed(2)} GiB`);
  }
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
