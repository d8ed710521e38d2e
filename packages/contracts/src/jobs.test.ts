import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preferenceAsChat } from './datasets';
import { createJobSchema, DEFAULT_DPO_BETA, jobSettingsSchema, trainingObjectives } from './jobs';
import { baseModels, defaultHyperparameters, defaultJobSettings, findBaseModel, genericDefaults, genericDpoDefaults, jobSettings, readJobSettings, speedOnlyModels } from './models';

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

test('the catalog gives complete, valid settings for every model, method and objective', () => {
  const methods = ['lora', 'full'] as const;
  for (const m of baseModels) {
    for (const method of methods) {
      for (const objective of trainingObjectives) {
        const where = `${m.id} ${method} ${objective}`;
        const s = jobSettings(m.id, { method, objective });
        assert.ok(jobSettingsSchema.safeParse(s).success, where);
        for (const k of ['method', 'objective', 'n_epochs', 'learning_rate', 'batch_size', 'lora_rank', 'lora_alpha'] as const) {
          assert.notEqual(s[k], undefined, `${where}: ${k}`);
        }
        assert.equal(s.beta, objective === 'dpo' ? DEFAULT_DPO_BETA : undefined, where);
        assert.deepEqual(s, defaultJobSettings(m.id, method, objective), where);
        const { beta: _beta, ...rest } = s;
        assert.deepEqual(rest, { method, objective, ...defaultHyperparameters(m.id, method, objective) }, where);
      }
    }
    // No method named: the model's first.
    assert.equal(jobSettings(m.id, {}).method, m.methods[0], m.id);
  }
});

test("what a job on lfm2-tiny gets is what it got before settings had one place", () => {
  assert.deepEqual(jobSettings('lfm2-tiny', {}), { method: 'full', objective: 'sft', n_epochs: 5, learning_rate: 5e-4, batch_size: 8, lora_rank: 16, lora_alpha: 32 });
  assert.deepEqual(jobSettings('lfm2-tiny', { method: 'lora' }), { method: 'lora', objective: 'sft', n_epochs: 30, learning_rate: 1e-3, batch_size: 8, lora_rank: 16, lora_alpha: 256 });
  assert.deepEqual(jobSettings('lfm2-tiny', { objective: 'dpo' }), { method: 'full', objective: 'dpo', n_epochs: 5, learning_rate: 2e-4, batch_size: 8, lora_rank: 16, lora_alpha: 32, beta: 0.1 });
  assert.deepEqual(jobSettings('lfm2-350m', { method: 'lora', objective: 'dpo', beta: 0.3 }), { method: 'lora', objective: 'dpo', n_epochs: 3, learning_rate: 1e-5, batch_size: 8, lora_rank: 16, lora_alpha: 32, beta: 0.3 });
  // A rank without an alpha: alpha = 2 x rank, not the recipe's alpha for its own rank.
  assert.equal(jobSettings('lfm2-tiny', { method: 'lora', lora_rank: 8 }).lora_alpha, 16);
  // Given values are kept as given.
  const given = { method: 'lora', objective: 'sft', n_epochs: 2, learning_rate: 3e-3, batch_size: 4, lora_rank: 4, lora_alpha: 7 } as const;
  assert.deepEqual(jobSettings('lfm2-1.2b', given), given);
});

test('stored settings: rows from before they were stored whole are completed the same way; bad ones are refused by name', () => {
  // A row from before preference tuning: no objective, no lora_alpha.
  const legacy = { method: 'lora', n_epochs: 1, learning_rate: 2e-3, batch_size: 8, lora_rank: 16 };
  assert.deepEqual(readJobSettings('lfm2-tiny', legacy), { ...legacy, objective: 'sft', lora_alpha: 32 });
  assert.deepEqual(readJobSettings('lfm2-tiny', {}), jobSettings('lfm2-tiny', {}));
  assert.throws(() => readJobSettings('lfm2-tiny', { n_epochs: '3' }), /stored settings are invalid[\s\S]*n_epochs/);
  assert.throws(() => readJobSettings('lfm2-tiny', { method: 'qlora' }), /method/);
  assert.throws(() => readJobSettings('lfm2-tiny', null), /stored settings are invalid/);
  // Complete settings: beta belongs to DPO, and only to it.
  const complete = jobSettings('lfm2-tiny', {});
  assert.ok(!jobSettingsSchema.safeParse({ ...complete, beta: 0.1 }).success);
  assert.ok(!jobSettingsSchema.safeParse({ ...complete, objective: 'dpo' }).success);
  const { n_epochs: _n, ...missing } = complete;
  assert.match(JSON.stringify(jobSettingsSchema.safeParse(missing).error?.issues), /n_epochs/);
});

test('speed-only models are never base models: no job can train one', () => {
  for (const m of speedOnlyModels) {
    assert.equal(findBaseModel(m.id), undefined, `${m.id} is not offered for training`);
    const released = findBaseModel(m.configurationOf);
    assert.ok(released, `${m.id} has the configuration of a released model`);
    // The parameter count of the random-weight build (speed_models.parameter_count) is the released model's.
    assert.ok(Math.abs(m.parameters - released.parameters) / released.parameters < 0.01, `${m.id}: ${m.parameters} vs ${released.parameters}`);
    assert.match(m.name, /random weights \(speed only\)/);
  }
});
