// The entry of a dataset validation thread. The platform runs TypeScript through tsx, whose hooks
// a worker thread does not inherit: register them here, then load the real entry.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-thread-main.ts');
