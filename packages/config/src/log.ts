import pino from 'pino';
import { z } from 'zod';

export type Logger = pino.Logger;

const level = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info');

/**
 * Structured JSON logs, one line per event, for every TypeScript process of the platform.
 * `stderr` keeps stdout clean for CLIs whose output is read by programs.
 */
export function createLogger(component: string, opts: { stderr?: boolean } = {}): Logger {
  const parsed = level.safeParse(process.env.LOG_LEVEL);
  return pino({ level: parsed.success ? parsed.data : 'info', base: { component } }, opts.stderr ? pino.destination(2) : undefined);
}
