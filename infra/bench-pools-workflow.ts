/**
 * The workflow of `npm run bench:pools`: schedules organization pool tasks one after another
 * through the orchestrator's own pool activity (the asynchronously completed one jobs use), so
 * each task meets an idle agent and its wait is dispatch alone.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { QuantizeInput, QuantizeOutput } from '@edgetune/temporal/activities';

interface PoolActivities {
  poolQuantize(input: QuantizeInput & { orgId: string; poolId: string }): Promise<QuantizeOutput>;
}

const { poolQuantize } = proxyActivities<PoolActivities>({
  taskQueue: 'orchestrator',
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

export interface BenchDispatchInput {
  orgId: string;
  poolId: string;
  jobId: string;
  sourceKey: string;
  outputPrefix: string;
  tasks: number;
}

export async function benchPoolDispatch(input: BenchDispatchInput): Promise<number> {
  let done = 0;
  for (let i = 0; i < input.tasks; i++) {
    await poolQuantize({ orgId: input.orgId, poolId: input.poolId, jobId: input.jobId, device: 'x86_64-avx2', sourceKey: input.sourceKey, quantization: 'Q8_0', outputPrefix: `${input.outputPrefix}/${i}` });
    done++;
  }
  return done;
}
