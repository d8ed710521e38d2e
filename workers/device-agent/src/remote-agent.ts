/**
 * The agent of an organization pool: runs on the customer's own machine and speaks only HTTPS to
 * the platform (works behind NAT; never sees Temporal, the database or the object store's keys).
 * It registers with its fingerprint, long-polls for tasks, fetches inputs and uploads results by
 * the URLs each task carries, heartbeats while it works, and completes or fails the task.
 * The command line is remote.ts.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AgentTask, TaskObject } from '@edgetune/contracts';
import { downloadToFile, FsStorage, putWithLength } from '@edgetune/storage';
import { benchmark, TemplateParityError } from './benchmark';
import { fingerprint } from './fingerprint';
import { log } from './log';
import { quantize, type ActivityHooks } from './quantize';

export class AgentHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface AgentOptions {
  url: string;
  token: string;
  dataDir: string;
  name: string;
  /** Seconds a poll may wait on the platform for a task. */
  waitSeconds?: number;
}

export class RemoteAgent {
  private agentId: string | null = null;
  private stopping = false;
  private current: AbortController | null = null;
  private readonly base: string;

  constructor(private readonly opts: AgentOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  private async call<T>(method: string, route: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await fetch(`${this.base}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.opts.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new AgentHttpError(res.status, `${method} ${route}: ${res.status} ${message}`);
    }
    return JSON.parse(text) as T;
  }

  async register(): Promise<{ agent_id: string; pool_id: string; pool_name: string; profiles: string[] }> {
    const fp = fingerprint();
    const r = await this.call<{ agent_id: string; pool_id: string; pool_name: string; profiles: string[] }>('POST', '/agent/register', { name: this.opts.name, fingerprint: fp });
    this.agentId = r.agent_id;
    log.info({ pool: r.pool_name, agent: r.agent_id, profiles: r.profiles }, 'joined the pool');
    if (!r.profiles.length) log.warn({ arch: fp.arch }, 'this machine serves no device profile of the catalog: it will get no tasks');
    return r;
  }

  /**
   * Joins the pool, waiting out a platform that is down or refusing for now (unreachable, 5xx,
   * 429): an agent started while the platform restarts must not give up. A token it refuses (401)
   * or a request it calls wrong ends it.
   */
  private async join(): Promise<void> {
    for (let backoff = 1000; !this.stopping; backoff = Math.min(backoff * 2, 30_000)) {
      try {
        await this.register();
        return;
      } catch (e) {
        if (e instanceof AgentHttpError && e.status < 500 && e.status !== 429 && e.status !== 408) throw e;
        log.warn({ err: (e as Error).message, retryInMs: backoff }, 'could not join the pool yet; retrying');
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /** Polls and works until stop(); a 401 (token rotated, pool deleted) ends it with that error. */
  async run(): Promise<void> {
    if (!this.agentId) await this.join();
    let backoff = 1000;
    while (!this.stopping) {
      try {
        const { task } = await this.call<{ task: AgentTask | null }>('POST', '/agent/poll', { agent_id: this.agentId, wait_seconds: this.opts.waitSeconds ?? 20 });
        backoff = 1000;
        if (task) await this.work(task);
      } catch (e) {
        if (e instanceof AgentHttpError && e.status === 401) throw e;
        if (e instanceof AgentHttpError && e.status === 404 && /register first/.test(e.message)) {
          await this.join();
          continue;
        }
        if (this.stopping) break;
        const wait = e instanceof AgentHttpError && e.status === 429 ? 5000 : backoff;
        log.warn({ err: (e as Error).message, retryInMs: wait }, 'platform unreachable or refused; retrying');
        await new Promise((r) => setTimeout(r, wait));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /** Stops polling; a task in progress is abandoned and reported as failed (Temporal retries it). */
  stop(): void {
    this.stopping = true;
    this.current?.abort(new Error('the agent is stopping'));
  }

  private objectHeaders(o: TaskObject): Record<string, string> {
    return o.platform ? { authorization: `Bearer ${this.opts.token}` } : {};
  }

  private resolve(o: TaskObject): string {
    return o.platform ? `${this.base}${o.url}` : o.url;
  }

  private download(o: TaskObject, dest: string, signal: AbortSignal): Promise<void> {
    return downloadToFile(this.resolve(o), this.objectHeaders(o), dest, o.size_bytes, signal);
  }

  private async upload(o: TaskObject, file: string, signal: AbortSignal): Promise<void> {
    const { size } = await stat(file);
    await putWithLength(new URL(this.resolve(o)), this.objectHeaders(o), size, () => createReadStream(file), o.key, signal);
  }

  private async work(task: AgentTask): Promise<void> {
    const abort = new AbortController();
    this.current = abort;
    const scratch = path.join(this.opts.dataDir, 'tasks', task.id);
    const store = new FsStorage(path.join(scratch, 'objects'));
    const started = performance.now();
    let progress: Record<string, number | string> = { phase: 'download' };
    log.info({ task: task.id, kind: task.kind, device: task.input.device, attempt: task.attempt }, 'task started');
    const beat = async () => {
      try {
        const r = await this.call<{ cancel: boolean }>('POST', `/agent/tasks/${task.id}/heartbeat`, { agent_id: this.agentId, progress });
        if (r.cancel) abort.abort(new CancelledByPlatform());
      } catch (e) {
        // A task that is no longer current (timed out, retried elsewhere) is not worth finishing.
        if (e instanceof AgentHttpError && (e.status === 409 || e.status === 404)) abort.abort(new Error(e.message));
        else log.warn({ task: task.id, err: (e as Error).message }, 'heartbeat failed');
      }
    };
    const timer = setInterval(() => void beat(), task.heartbeat_every_seconds * 1000);
    const hooks: ActivityHooks = {
      signal: abort.signal,
      heartbeat: (detail) => {
        if (detail && typeof detail === 'object') progress = { ...progress, ...(detail as Record<string, number | string>) };
      },
      log: (msg, fields) => log.info({ task: task.id, ...fields }, msg),
    };
    try {
      for (const [, o] of Object.entries(task.inputs)) await this.download(o, path.join(scratch, 'objects', o.key), abort.signal);
      progress = { phase: task.kind };
      let result: unknown;
      if (task.input.kind === 'quantize') {
        const i = task.input;
        const q = await quantize(
          {
            jobId: i.jobId,
            device: i.device,
            sourceKey: i.sourceKey,
            quantization: i.quantization,
            outputPrefix: path.posix.dirname(i.outputKey),
            ...(i.calibrationKey ? { calibrationKey: i.calibrationKey } : {}),
          },
          hooks,
          store,
        );
        if (q.key !== i.outputKey) throw new Error(`quantize wrote ${q.key}, the task expects ${i.outputKey}`);
        progress = { phase: 'upload' };
        await this.upload(task.outputs.model, store.localPath(q.key)!, abort.signal);
        result = q;
      } else {
        const i = task.input;
        const d = await benchmark(
          {
            jobId: i.jobId,
            device: i.device,
            modelKey: i.modelKey,
            evalKey: i.evalKey,
            maxNewTokens: i.maxNewTokens,
            ...(i.referenceKey ? { referenceKey: i.referenceKey } : {}),
            ...(i.expectedPromptTokenIds ? { expectedPromptTokenIds: i.expectedPromptTokenIds } : {}),
          },
          hooks,
          undefined,
          store,
        );
        const { ttftSamplesMs: _s, baselineRssBytes: _b, renderedPrompt: _p, runtime: _r, ...out } = d;
        result = out;
      }
      await this.call('POST', `/agent/tasks/${task.id}/complete`, { agent_id: this.agentId, result });
      log.info({ task: task.id, seconds: Math.round((performance.now() - started) / 100) / 10 }, 'task completed');
    } catch (e) {
      const reason = abort.signal.aborted ? abort.signal.reason : e;
      const cancelled = reason instanceof CancelledByPlatform;
      const message = (reason as Error)?.message ?? String(reason);
      log.warn({ task: task.id, err: message, cancelled }, 'task failed');
      // A template mismatch is a property of the files: retrying on another agent cannot help.
      const retryable = !(reason instanceof TemplateParityError);
      await this.call('POST', `/agent/tasks/${task.id}/fail`, { agent_id: this.agentId, message: message.slice(0, 4000), cancelled, ...(retryable ? {} : { retryable }) }).catch((err: Error) =>
        log.warn({ task: task.id, err: err.message }, 'could not report the failure (the platform retries the task after its heartbeat timeout)'),
      );
    } finally {
      clearInterval(timer);
      this.current = null;
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

class CancelledByPlatform extends Error {
  constructor() {
    super('the job was cancelled');
  }
}
