/**
 * Saves the event histories of finished workflows as replay fixtures. Opt-in: the integration
 * tests call it after each job, and it writes only when EDGETUNE_RECORD_HISTORIES names a folder
 * (see workers/orchestrator/README.md, "Recording histories").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { workflowIds } from '@edgetune/temporal/queues';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

const dir = process.env.EDGETUNE_RECORD_HISTORIES;

/**
 * Writes `<name>.json` for the workflow, `<name>-device-<device>.json` for each deviceCandidates
 * child it started, and `register-pool.json` for the pool those children ran on. Waits for the
 * workflow to close first: the job's status is written before its last event and activity.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const handle = client.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined); // failed and cancelled runs are what some fixtures record
  const history = await handle.fetchHistory();
  writeFileSync(path.join(dir, `${name}.json`), historyToJSON(history) + '\n');
  for (const e of history.events ?? []) {
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (!child?.workflowId) continue;
    const childHandle = client.workflow.getHandle(child.workflowId);
    await childHandle.result().catch(() => undefined);
    const childHistory = await childHandle.fetchHistory();
    const input = childHistory.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const args = input ? (JSON.parse(Buffer.from(input).toString('utf8')) as { device: string; pool: string }) : null;
    writeFileSync(path.join(dir, `${name}-device-${args?.device ?? child.workflowId}.json`), historyToJSON(childHistory) + '\n');
    if (args?.pool) {
      const pool = client.workflow.getHandle(workflowIds.registerPool(args.pool));
      await pool.result().catch(() => undefined);
      writeFileSync(path.join(dir, 'register-pool.json'), historyToJSON(await pool.fetchHistory()) + '\n');
    }
  }
}
