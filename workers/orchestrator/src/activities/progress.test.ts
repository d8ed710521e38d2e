import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeJobFact, jobEventType } from '@edgetune/contracts';
import { progressEvent } from './progress';

const base = { step: 3, totalSteps: 10, epoch: 0.3, loss: 0.5123, learningRate: 1e-4, tokensPerSecond: 900, checkpointKey: null };

test('a supervised step event: loss only', () => {
  const e = progressEvent(base);
  assert.equal(describeJobFact(e.fact), 'Step 3/10: training loss=0.5123');
  assert.equal(e.dedupeKey, 'train-step-3');
  assert.equal(jobEventType(e.fact), 'metrics');
  assert.ok(!('reward_accuracy' in e.fact));
});

test('a DPO step event carries reward accuracy and margin', () => {
  const e = progressEvent({ ...base, rewardAccuracy: 0.75, rewardMargin: 0.4321 });
  assert.match(describeJobFact(e.fact), /^Step 3\/10: training loss=0\.5123, reward accuracy=0\.750, reward margin=0\.4321$/);
  assert.equal(e.fact.reward_accuracy, 0.75);
  assert.equal(e.fact.reward_margin, 0.4321);
  assert.equal(e.fact.train_loss, 0.5123);
});
