/**
 * Device activities for organization pools. They only queue the task and return without a
 * result: the activity completes asynchronously when the pool's agent reports over HTTPS
 * (packages/api/src/pools/agent.ts), while Temporal keeps its timeouts, retries and cancellation.
 */
import { CompleteAsyncError, Context } from '@temporalio/activity';
import * as pipeline from '@edgetune/api/pipeline';
import { quantizedKey } from '@edgetune/contracts';
import type { BenchmarkInput, BenchmarkOutput, QuantizeInput, QuantizeOutput } from '@edgetune/temporal';

export interface OrgPoolRef {
  orgId: string;
  poolId: string;
}

async function enqueue(ref: OrgPoolRef, input: Parameters<typeof pipeline.enqueuePoolTask>[1]['input']): Promise<never> {
  const info = Context.current().info;
  await pipeline.enqueuePoolTask(
    { taskToken: info.taskToken, activityKey: `${info.workflowExecution?.workflowId ?? info.activityId}/${info.activityId}`, attempt: info.attempt },
    { orgId: ref.orgId, poolId: ref.poolId, input },
  );
  throw new CompleteAsyncError();
}

export async function poolQuantize(input: QuantizeInput & OrgPoolRef): Promise<QuantizeOutput> {
  return enqueue(input, {
    kind: 'quantize',
    jobId: input.jobId,
    device: input.device,
    sourceKey: input.sourceKey,
    quantization: input.quantization,
    outputKey: quantizedKey(input.outputPrefix, input.quantization),
    ...(input.calibrationKey ? { calibrationKey: input.calibrationKey } : {}),
  });
}

export async function poolBenchmark(input: BenchmarkInput & OrgPoolRef): Promise<BenchmarkOutput> {
  return enqueue(input, {
    kind: 'benchmark',
    jobId: input.jobId,
    device: input.device,
    modelKey: input.modelKey,
    evalKey: input.evalKey,
    maxNewTokens: input.maxNewTokens,
    ...(input.referenceKey ? { referenceKey: input.referenceKey } : {}),
    ...(input.expectedPromptTokenIds ? { expectedPromptTokenIds: input.expectedPromptTokenIds } : {}),
  });
}
