/**
 * Saves the event histories of finished workflows as replay fixtures. Opt-in: the integration
 * tests call it after each job, and it writes only when EDGETUNE_RECORD_HISTORIES names a folder
 * (see workers/orchestrator/README.md, "Recording histories").
 *
 * The Temporal CLI writes the history: its JSON is what `Worker.runReplayHistory` reads, and the
 * SDK's own historyToJSON fails on the client's History objects here (two protobufjs copies).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { workflowIds } from '@edgetune/temporal/queues';

const dir = process.env.EDGETUNE_RECORD_HISTORIES;
const ROOT = process.env.EDGETUNE_ROOT ?? path.resolve(import.meta.dirname, '../../..');

interface HistoryJson {
  events: {
    workflowExecutionStartedEventAttributes?: { input?: { payloads?: { data?: string }[] } };
    startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId?: string };
  }[];
}

/** The closed workflow's history as the CLI prints it, and the same parsed. */
async function closedHistory(client: Client, workflowId: string): Promise<{ text: string; json: HistoryJson }> {
  // The job's status is written before its last event and activity: wait for the workflow to close.
  await client.workflow.getHandle(workflowId).result().catch(() => undefined);
  const cli = path.join(ROOT, '.tools', 'bin', 'temporal');
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const r = spawnSync(cli, ['workflow', 'show', '-w', workflowId, '--output', 'json', '--address', address, '--namespace', client.options.namespace], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`temporal workflow show ${workflowId} failed: ${r.stderr}`);
  // Failure stack traces name files of the checkout: keep them relative, the same wherever recorded.
  const text = r.stdout.split(`${ROOT}/`).join('');
  return { text, json: JSON.parse(text) as HistoryJson };
}

/**
 * Writes `<name>.json` for the workflow, `<name>-device-<device>.json` for each deviceCandidates
 * child it started, and `register-pool.json` for the pool those children ran on.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const job = await closedHistory(client, workflowId);
  writeFileSync(path.join(dir, `${name}.json`), job.text);
  for (const e of job.json.events) {
    const childId = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
    if (!childId) continue;
    const child = await closedHistory(client, childId);
    const input = child.json.events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const args = JSON.parse(Buffer.from(input ?? '', 'base64').toString('utf8') || 'null') as { device: string; pool: string } | null;
    writeFileSync(path.join(dir, `${name}-device-${args?.device ?? childId}.json`), child.text);
    if (args?.pool) writeFileSync(path.join(dir, 'register-pool.json'), (await closedHistory(client, workflowIds.registerPool(args.pool))).text);
  }
}
