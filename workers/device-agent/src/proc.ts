import { spawn } from 'node:child_process';
import { withoutPlatformSecrets } from '@edgetune/config';

export interface RunOptions {
  /** Aborting kills the child's whole process group (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Called every `heartbeatMs` while the child runs (Temporal heartbeats). */
  heartbeat?: (detail: unknown) => void;
  heartbeatMs?: number;
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called for every complete stdout line. */
  onStdoutLine?: (line: string) => void;
  /** Reported to `heartbeat`. */
  label?: string;
  /** Called with the child's pid once spawned. */
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

export class CancelledError extends Error {
  constructor(label: string) {
    super(`${label} cancelled`);
    this.name = 'CancelledError';
  }
}

const MAX_KEEP = 4 * 1024 * 1024;

/** Runs a child process in its own process group; heartbeats while it runs; kills it on abort. */
export function runChild(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const label = opts.label ?? cmd.split('/').pop() ?? cmd;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new CancelledError(label));
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      // llama.cpp and the bench child never see the platform's secrets, whatever the agent was given.
      env: withoutPlatformSecrets(opts.env ?? process.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so grandchildren die with it
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    opts.heartbeat?.({ step: label, elapsedS: 0 });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (stdout.length < MAX_KEEP) stdout += d;
      if (opts.onStdoutLine) {
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) opts.onStdoutLine(l);
      }
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (stderr.length > MAX_KEEP) stderr = stderr.slice(-MAX_KEEP / 2);
    });
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        try {
          child.kill(sig);
        } catch {
          /* already gone */
        }
      }
    };
    const onAbort = () => {
      cancelled = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 3000);
      killTimer.unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const beat = opts.heartbeat
      ? setInterval(() => opts.heartbeat?.({ step: label, elapsedS: Math.round((performance.now() - started) / 1000) }), opts.heartbeatMs ?? 2000)
      : undefined;
    // Exit of our own process (e.g. the worker is SIGTERMed) must not leave orphans behind.
    const onExit = () => killGroup('SIGKILL');
    process.once('exit', onExit);
    const done = () => {
      if (beat) clearInterval(beat);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      process.removeListener('exit', onExit);
    };
    child.on('error', (e) => {
      done();
      reject(new ToolError(`${label}: could not start ${cmd}: ${e.message}`, null, ''));
    });
    child.on('close', (code, sig) => {
      done();
      if (partial && opts.onStdoutLine) opts.onStdoutLine(partial);
      if (cancelled) return reject(new CancelledError(label));
      const durationMs = performance.now() - started;
      if (code === 0) return resolve({ stdout, stderr, durationMs });
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      reject(new ToolError(`${label} failed (${sig ? `signal ${sig}` : `exit ${code}`}):\n${tail}`, code, tail));
    });
  });
}
