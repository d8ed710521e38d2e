import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs, one line per event, like every other process of the platform. */
export function createLogger(name: string): Logger {
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info', base: { component: name } });
}
