/** How the orchestrator's workflow code is bundled: the worker and the replay test share it, so the test replays what the worker runs. */
import { createRequire } from 'node:module';
import type { WorkerOptions } from '@temporalio/worker';

const require = createRequire(import.meta.url);

export const workflowBundle: Pick<WorkerOptions, 'workflowsPath' | 'bundlerOptions'> = {
  workflowsPath: require.resolve('./workflows/index.ts'),
  bundlerOptions: { ignoreModules: ['node:crypto', 'crypto'] },
};
