import { createLogger } from '@edgetune/config';

/** Structured JSON logs, one line per event (to stderr so CLIs keep stdout clean). */
export const logger = createLogger('api', { stderr: true });
