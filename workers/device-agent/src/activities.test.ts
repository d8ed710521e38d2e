import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceActivityNames } from '@edgetune/temporal/activities';
import { activities } from './activities';

test('the device agent registers exactly the declared device activities', () => {
  assert.deepEqual(Object.keys(activities).sort(), Object.values(deviceActivityNames).sort());
});
