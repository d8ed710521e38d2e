import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preferenceAsChat } from './datasets';
import { createJobSchema, DEFAULT_DPO_BETA } from './jobs';
import { defaultHyperparameters, genericDefaults, genericDpoDefaults } from './models';

test('objective and beta: optional, beta within (0, 10]', () => {
  const ok = (hyperparameters: unknown) => createJobSchema.safeParse({ model: 'm', training_file: 'f', hyperparameters }).success;
  assert.ok(ok({}));
  assert.ok(ok({ objective: 'dpo', beta: 0.1 }));
  assert.ok(ok({ objective: 'sft' }));
  assert.ok(ok({ beta: 10 }));
  assert.ok(!ok({ beta: 0 }));
  assert.ok(!ok({ beta: -1 }));
  assert.ok(!ok({ beta: 10.01 }));
  assert.ok(!ok({ objective: 'rlhf' }));
  assert.equal(DEFAULT_DPO_BETA, 0.1);
});

test('DPO defaults: the model recipe, with the DPO step size', () => {
  // A real checkpoint without its own DPO recipe: generic DPO learning rate, SFT recipe otherwise.
  assert.deepEqual(defaultHyperparameters('lfm2-350m', 'full', 'dpo'), { ...genericDefaults.full, ...genericDpoDefaults.full });
  assert.ok(defaultHyperparameters('lfm2-350m', 'lora', 'dpo').learning_rate < defaultHyperparameters('lfm2-350m', 'lora').learning_rate);
  assert.deepEqual(defaultHyperparameters('lfm2-350m', 'lora'), defaultHyperparameters('lfm2-350m', 'lora', 'sft'));
  // lfm2-tiny carries its measured DPO recipe.
  assert.equal(defaultHyperparameters('lfm2-tiny', 'full', 'dpo').learning_rate, 2e-4);
  assert.equal(defaultHyperparameters('lfm2-tiny', 'full', 'dpo').n_epochs, 5);
});

test('a preference pair as the chat of its chosen answer', () => {
  assert.deepEqual(preferenceAsChat({ prompt: 'Q', chosen: 'good', rejected: 'bad' }), {
    messages: [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'good' },
    ],
  });
  const prompt = [
    { role: 'system' as const, content: 'S' },
    { role: 'user' as const, content: 'U' },
  ];
  assert.deepEqual(preferenceAsChat({ prompt, chosen: [{ role: 'assistant', content: 'A' }], rejected: 'B' }).messages, [...prompt, { role: 'assistant', content: 'A' }]);
});
