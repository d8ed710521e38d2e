import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressEvent } from './progress';

const base = { step: 3, totalSteps: 10, epoch: 0.3, loss: 0.5123, learningRate: 1e-4, tokensPerSecond: 900, checkpointKey: null };

test('a supervised step event: loss only', () => {
  const e = progressEvent(base);
  assert.equal(e.message, 'Step 3/10: training loss=0.5123');
  assert.equal(e.dedupeKey, 'train-step-3');
  assert.equal(e.type, 'metrics');
  assert.ok(!('reward_accuracy' in (e.data ?? {})));
});

test('a DPO step event carries reward accuracy and margin', () => {
  const e = progressEvent({ ...base, rewardAccuracy: 0.75, rewardMargin: 0.4321 });
  assert.match(e.message, /^Step 3\/10: training loss=0\.5123, reward accuracy=0\.750, reward margin=0\.4321$/);
  assert.equal(e.data?.reward_accuracy, 0.75);
  assert.equal(e.data?.reward_margin, 0.4321);
  assert.equal(e.data?.train_loss, 0.5123);
});
