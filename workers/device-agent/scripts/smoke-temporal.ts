/**
 * Smoke test against a running Temporal server: starts the device agent (src/worker.ts) in a
 * child process, then runs a workflow that calls fingerprint → quantize → benchmark and cancels
 * a second benchmark. Use a throwaway namespace, the agent registers its pool there.
 *
 *   TEMPORAL_NAMESPACE=edgetune-smoke STORAGE_URL=file:///tmp/smoke-objects \
 *     npx tsx workers/device-agent/scripts/smoke-temporal.ts <f16.gguf> <eval.jsonl>
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { agentConfig, agentStorage } from '../src/config';

const here = path.dirname(fileURLToPath(import.meta.url));
const [f16, evalFile] = process.argv.slice(2);
if (!f16 || !evalFile) throw new Error('usage: smoke-temporal.ts <f16.gguf> <eval.jsonl>');
const cfg = agentConfig();
const pool = `smoke-${process.pid}`;
await agentStorage().put('smoke/model-f16.gguf', createReadStream(f16));
await agentStorage().put('smoke/eval.jsonl', createReadStream(evalFile));

const agent = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(here, '../src/worker.ts')], {
  env: { ...process.env, DEVICE_POOL: pool, BENCH_THREADS: process.env.BENCH_THREADS ?? '1' },
  stdio: ['ignore', 'inherit', 'inherit'],
});

const nc = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
const wfWorker = await Worker.create({ connection: nc, namespace: cfg.TEMPORAL_NAMESPACE, taskQueue: `smoke-wf-${process.pid}`, workflowsPath: path.join(here, 'smoke-workflows.ts') });
const conn = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
const client = new Client({ connection: conn, namespace: cfg.TEMPORAL_NAMESPACE });
try {
  const result = await wfWorker.runUntil(
    client.workflow.execute('smokeDevice', {
      taskQueue: `smoke-wf-${process.pid}`,
      workflowId: `smoke-device-${process.pid}`,
      args: [`device.${pool}`, { jobId: 'smoke', device: 'x86_64-avx2', sourceKey: 'smoke/model-f16.gguf', quantization: 'Q8_0', outputPrefix: 'smoke/variants' }, 'smoke/eval.jsonl'],
      workflowExecutionTimeout: '15 minutes',
    }),
  );
  console.log(JSON.stringify({ ...result, fp: { pool: result.fp.pool, profiles: result.fp.profiles }, bo: { ...result.bo, fingerprint: undefined } }, null, 2));
  if (!result.cancelled) throw new Error('benchmark cancellation did not surface as a cancellation');
} finally {
  agent.kill('SIGTERM');
  await conn.close();
}
