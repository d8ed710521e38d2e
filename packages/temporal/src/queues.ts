/** Task queue names and workflow ids: the only place they are spelled. Safe to import in workflow code. */
export const taskQueues = {
  orchestrator: 'orchestrator',
  train: (pool: string) => `train.${pool}`,
  device: (pool: string) => `device.${pool}`,
} as const;

export const workflowIds = {
  fineTuneJob: (jobId: string) => `fine-tune-${jobId}`,
  deviceCandidates: (jobId: string, device: string, pool?: string) => `fine-tune-${jobId}-device-${device}${pool ? `-pool-${pool}` : ''}`,
  registerPool: (pool: string) => `pool-${pool}`,
} as const;

export const workflowTypes = {
  fineTuneJob: 'fineTuneJob',
  deviceCandidates: 'deviceCandidates',
  registerPool: 'registerPool',
} as const;

export interface FineTuneJobInput {
  jobId: string;
  orgId: string;
}

export interface RegisterPoolInput {
  fingerprint: import('./activities').Fingerprint;
}
