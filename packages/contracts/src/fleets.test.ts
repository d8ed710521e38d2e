import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReleaseSchema, rolloutSteps } from './fleets';

test('rollout steps: the first step and the default ones above it, or the release’s own', () => {
  assert.deepEqual(rolloutSteps({}), [1, 10, 50, 100]);
  assert.deepEqual(rolloutSteps({ rollout_percent: 25 }), [25, 50, 100]);
  assert.deepEqual(rolloutSteps({ rollout_percent: 100 }), [100]);
  assert.deepEqual(rolloutSteps({ steps: [5, 100] }), [5, 100]);
});

test('a release request names what is wrong with its steps', () => {
  const issues = (body: unknown) => {
    const r = createReleaseSchema.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues({ model: 'm' }), []);
  assert.match(issues({ model: 'm', steps: [50, 20, 100] }).join('\n'), /steps: steps must increase/);
  assert.match(issues({ model: 'm', steps: [10, 50] }).join('\n'), /steps: the last step must be 100/);
  assert.match(issues({ model: 'm', steps: [10, 100], rollout_percent: 20 }).join('\n'), /rollout_percent: rollout_percent must equal the first step/);
  assert.match(issues({ model: 'm', rollout_percent: 0 }).join('\n'), /rollout_percent/);
  assert.match(issues({ model: 'm', channel: 'Beta!' }).join('\n'), /channel: lower-case letters, digits and dashes/);
  assert.match(issues({ model: 'm', failure_threshold: 2 }).join('\n'), /failure_threshold/);
  assert.match(issues({ model: 'm', extra: 1 }).join('\n'), /extra|Unrecognized/i);
  const parsed = createReleaseSchema.parse({ model: 'm' });
  assert.equal(parsed.channel, 'stable');
  assert.equal(parsed.soak_minutes, null);
  assert.equal(parsed.failure_threshold, 0.1);
});
