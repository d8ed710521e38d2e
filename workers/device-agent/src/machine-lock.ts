/**
 * Measurements on one machine never overlap: every agent on a host (of one pool or several)
 * takes this lock around a benchmark, so two never compete for its cores, caches and memory
 * bandwidth. A lock whose holder died is taken over once it goes stale (proper-lockfile).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { CancelledError } from './proc';
import type { ActivityHooks } from './quantize';

export function machineLockFile(): string {
  return process.env.EDGETUNE_BENCH_LOCK || path.join(os.tmpdir(), 'edgetune-bench.lock');
}

/** Runs `fn` holding the machine's benchmark lock; waits (heartbeating, cancellable) while another holds it. */
export async function exclusively<T>(label: string, fn: () => Promise<T>, hooks: ActivityHooks = {}): Promise<T> {
  const file = machineLockFile();
  writeFileSync(file, '', { flag: 'a' }); // proper-lockfile locks an existing file
  let release: (() => Promise<void>) | null = null;
  let waitedMs = 0;
  while (!release) {
    if (hooks.signal?.aborted) throw new CancelledError(label);
    try {
      release = await lockfile.lock(file, { stale: 30_000, update: 5_000, realpath: false });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ELOCKED') throw e;
      if (waitedMs === 0) hooks.log?.('waiting for another benchmark on this machine to finish', { lock: file });
      hooks.heartbeat?.({ phase: 'waiting for the machine', waitedSeconds: Math.round(waitedMs / 1000) });
      await new Promise((r) => setTimeout(r, 500));
      waitedMs += 500;
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined); // a compromised (taken over) lock is already gone
  }
}
