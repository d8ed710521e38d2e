import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Logger } from '@edgetune/config';

/** Routes the Temporal worker SDK's own logs into the process's JSON logger (core at WARN). */
export function installRuntimeLogger(log: Logger): void {
  const fields = (meta?: Record<string, unknown>) => ({ ...meta, source: 'temporal' });
  Runtime.install({
    logger: {
      log: (level, message, meta) => log[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'info')](fields(meta), message),
      trace: (m, meta) => log.trace(fields(meta), m),
      debug: (m, meta) => log.debug(fields(meta), m),
      info: (m, meta) => log.info(fields(meta), m),
      warn: (m, meta) => log.warn(fields(meta), m),
      error: (m, meta) => log.error(fields(meta), m),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
}
