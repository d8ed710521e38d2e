/**
 * Replays the recorded histories in ./histories (real runs of every workflow type: a supervised
 * and a DPO job that published, a cancelled and a failed job, their per-device children, a pool
 * registration) with the current workflow code, in-process, without a server. A change that
 * would make a running job take a different path on its next workflow task fails here with
 * Temporal's non-determinism error; workers/orchestrator/README.md says what to do then.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../workflow-bundle';

const dir = path.join(import.meta.dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

// The SDK's historyFromJSON parses with @temporalio/common's protobufjs, but in this install
// @temporalio/common and @temporalio/proto each carry their own copy (the top-level protobufjs is
// an older major that gRPC needs), so it rejects the proto package's types ("type must be a
// Type"). The CLI writes canonical proto3 JSON: parse it with the copy the types come from.
const { fromJson } = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
  fromJson: (type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }) => proto.temporal.api.history.v1.History;
};
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');
const historyFromJSON = (json: unknown) => fromJson(historyType, json, { ignoreUnknownFields: true });

test('histories of every workflow type are recorded', () => {
  const types = new Map<string, string[]>();
  for (const f of files) {
    const started = JSON.parse(readFileSync(path.join(dir, f), 'utf8')).events[0].workflowExecutionStartedEventAttributes;
    types.set(started.workflowType.name, [...(types.get(started.workflowType.name) ?? []), f.replace(/\.json$/, '')]);
  }
  assert.deepEqual([...types.keys()].sort(), ['deviceCandidates', 'fineTuneJob', 'registerPool']);
  for (const name of ['sft', 'dpo', 'cancelled', 'failed']) assert.ok(types.get('fineTuneJob')!.includes(name), `histories/${name}.json is missing`);
  assert.ok(types.get('deviceCandidates')!.length >= 2, 'the device children of the sft and dpo jobs');
});

test('every recorded history replays with the current workflow code', { timeout: 5 * 60_000 }, async () => {
  const histories = files.map((f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))) }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ ...workflowBundle, replayName: 'recorded-histories' }, histories)) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.name}: ${r.error.message}`);
  }
  assert.equal(replayed, files.length);
  assert.deepEqual(failures, []);
});
