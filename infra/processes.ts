import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@edgetune/config';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Mirror the child's output to our stdout (npm start) or only to its log file (tests). */
  echo: boolean;
}

/** A supervised child process: output to .data/logs/<name>.log, stopped with its process group. */
export class ManagedProcess {
  private child: ChildProcess | null = null;
  private stopping = false;
  readonly logFile: string;
  exitCode: number | null = null;

  constructor(
    readonly spec: ProcessSpec,
    private readonly log: Logger,
    private readonly onUnexpectedExit: (name: string, code: number | null) => void,
  ) {
    mkdirSync(spec.logDir, { recursive: true });
    this.logFile = path.join(spec.logDir, `${spec.name}.log`);
  }

  start(): void {
    this.stopping = false;
    this.exitCode = null;
    const out = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so stop() also ends grandchildren (tsx, python threads)
    });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        out.write(chunk);
        if (this.spec.echo) process.stdout.write(chunk);
      });
    }
    child.on('exit', (code) => {
      this.exitCode = code;
      out.end();
      if (!this.stopping) this.onUnexpectedExit(this.spec.name, code);
    });
    this.log.info({ process: this.spec.name, pid: child.pid, log: this.logFile }, 'started');
  }

  /** The child's pid, which is also its process group's id (null before the first start). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.exitCode === null && this.child.exitCode === null;
  }

  /** Last resort on process exit: signal the whole process group synchronously. */
  kill(): void {
    if (this.live()) this.signal('SIGTERM');
  }

  /** kill -9 of the whole process group, as a crash would end it (the kill tests); resolves once it has exited. */
  crash(): Promise<void> {
    return this.end('SIGKILL', 0);
  }

  /** SIGTERM to the process group, SIGKILL if it is still there after `timeoutMs`; resolves once it has exited. */
  stop(timeoutMs = 40_000): Promise<void> {
    return this.end('SIGTERM', timeoutMs);
  }

  private live(): ChildProcess | null {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child : null;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.child!.pid!, sig);
    } catch {
      /* already gone */
    }
  }

  private async end(sig: NodeJS.Signals, killAfterMs: number): Promise<void> {
    const child = this.live();
    if (!child) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.signal(sig);
    const timer = sig === 'SIGKILL' ? null : setTimeout(() => this.signal('SIGKILL'), killAfterMs);
    await exited;
    if (timer) clearTimeout(timer);
  }
}

/** Calls `fn` until it resolves (every half second), failing with its last error after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await sleep(500);
    }
  }
  throw new Error(`${what} was not ready after ${Math.round(timeoutMs / 1000)} s: ${(last as Error)?.message ?? last}`);
}
