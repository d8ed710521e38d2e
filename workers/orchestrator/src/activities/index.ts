import * as pipeline from '@edgetune/api/pipeline';
import type { Fingerprint } from '@edgetune/temporal';

export { loadJobPlan, prepareDataset } from './plan';
export { trackTraining, ingestTrainingMetrics } from './progress';

export const setJobStatus = pipeline.setJobStatus;
export const setJobResult = pipeline.setJobResult;
export const recordStage = pipeline.recordStage;
export const closeOpenStages = pipeline.closeOpenStages;
export const publishVersion = pipeline.publishVersion;
export const meterJob = pipeline.meterJob;

export async function recordEvents(input: { jobId: string; orgId: string; events: pipeline.EventInput[] }): Promise<void> {
  await pipeline.recordEvents(input, input.events);
}

export async function upsertPool(input: { fingerprint: Fingerprint }): Promise<void> {
  await pipeline.upsertPool(input.fingerprint);
}

export { poolQuantize, poolBenchmark } from './pools';
