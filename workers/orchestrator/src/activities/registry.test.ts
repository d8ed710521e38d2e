import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orchestratorActivityNames } from '@edgetune/temporal/activities';
import * as implemented from './index';
import { orchestratorActivities } from './registry';

test('the worker registers exactly the declared orchestrator activities', () => {
  const registered = orchestratorActivities();
  assert.deepEqual(Object.keys(registered).sort(), Object.values(orchestratorActivityNames).sort());
  assert.equal(registered.recordEvents, implemented.recordEvents);
});

test('an undeclared or missing activity stops the worker, named', () => {
  const { upsertPool: _dropped, ...rest } = implemented;
  assert.throws(() => orchestratorActivities({ ...rest, extra: async () => undefined }), {
    message: "orchestrator activities differ from activity-names.json: 'upsertPool' is declared but not implemented; 'extra' is implemented but not declared",
  });
});
