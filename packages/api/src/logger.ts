import pino from 'pino';
import { loadConfig } from '@edgetune/config';

let level = 'info';
try {
  level = loadConfig().LOG_LEVEL;
} catch {
  /* config errors surface where config is required */
}

/** Structured JSON logs, one line per event (to stderr so CLIs keep stdout clean). */
export const logger = pino({ level, base: { component: 'api' } }, pino.destination(2));
