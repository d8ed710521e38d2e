export * from './queues';
export * from './activities';
export { temporalClient } from './client';
