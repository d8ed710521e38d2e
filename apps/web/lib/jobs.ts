import type { JobStatus } from '@edgetune/contracts';

/**
 * contracts' `terminalStatuses`, restated here on purpose: importing any value from
 * @edgetune/contracts puts zod (its schemas, ~0.5 MB) into the browser bundle of the pages that
 * use it. `satisfies` keeps the names in step with JobStatus.
 */
const terminal: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled'] satisfies JobStatus[]);

/** A job in this status will not change any more. */
export function isTerminal(status: string | undefined): boolean {
  return status !== undefined && terminal.has(status);
}
