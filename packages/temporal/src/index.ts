export * from './queues';
export * from './activities';
export { temporalClient, temporalConnectionOptions } from './client';
/** What asynchronous activity completion answers and sends (organization pools complete their tasks so). */
export { ActivityCancelledError, ActivityNotFoundError, ApplicationFailure } from '@temporalio/client';
