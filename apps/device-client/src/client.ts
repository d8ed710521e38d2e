/**
 * One edge device's update loop: enroll once, then on every cycle refresh the fleet's TUF
 * metadata with tuf-js (signatures, versions, expiry: anything tampered, replayed or stale is
 * refused and the running model stays), download the device profile's file with resume, verify
 * it, swap it in atomically keeping the previous model, smoke-test it, roll back locally if the
 * test fails, and report the outcome in a check-in.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TargetFile } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { downloadTarget } from './download';
import { DeviceDir, writeDurably, type DeviceState, type Installed } from './files';
import { checkIn, DeviceFetcher, enroll, firstRoot, tufBase } from './platform';
import { smokeTest, type SmokeResult } from './smoke';

export interface EnrollOptions {
  url: string;
  fleetId: string;
  enrollmentToken: string;
  name: string;
  profile: string;
  channel?: string;
  /** A root.json obtained out of band; without it the fleet's root 1 is trusted on first use. */
  rootFile?: string;
}

export type CycleOutcome =
  | { kind: 'nothing-released'; detail: string }
  | { kind: 'up-to-date'; releaseId: string; sha256: string }
  | { kind: 'installed'; releaseId: string; sha256: string; smokeLatencyMs: number; fetched: number; resumedFrom: number }
  | { kind: 'failed'; releaseId: string | null; error: string }
  | { kind: 'refused'; error: string };

export interface ClientOptions {
  /** Replaces the node-llama-cpp smoke test (a device with its own runtime). */
  smoke?: (modelPath: string) => Promise<SmokeResult>;
  log?: (msg: string, data?: Record<string, unknown>) => void;
}

/** Test-only fault points: the process kills itself there, as a power cut would. */
const fault = (point: string) => {
  if (process.env.EDGETUNE_DEVICE_CLIENT_FAULT === point) process.kill(process.pid, 'SIGKILL');
};

export class DeviceClient {
  private constructor(
    private readonly dir: DeviceDir,
    private state: DeviceState,
    private readonly opts: ClientOptions,
  ) {}

  /** Opens an enrolled device's folder; enrolls first when `enrollWith` is given and the folder is new. */
  static async open(root: string, enrollWith: EnrollOptions | null, opts: ClientOptions = {}): Promise<DeviceClient> {
    const dir = new DeviceDir(root);
    let state = dir.readState();
    if (!state) {
      if (!enrollWith) throw new Error(`${root} holds no enrolled device: pass the fleet id and its enrollment token to enroll.`);
      const e = enrollWith;
      const r = await enroll(e.url, e.fleetId, e.enrollmentToken, {
        name: e.name,
        profile: e.profile,
        channel: e.channel ?? 'stable',
        fingerprint: { cpuModel: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, arch: os.arch(), os: `${os.type()} ${os.release()}`, memoryBytes: os.totalmem() },
      });
      const trusted = e.rootFile ? readFileSync(e.rootFile, 'utf8') : await firstRoot(e.url, e.fleetId, r.device_token);
      writeDurably(path.join(dir.tufDir, 'root.json'), trusted);
      state = { url: e.url, fleetId: e.fleetId, deviceId: r.device_id, deviceToken: r.device_token, name: e.name, profile: e.profile, channel: e.channel ?? 'stable', current: null, previous: null, refused: [], lastReport: null };
      dir.writeState(state);
    }
    const client = new DeviceClient(dir, state, opts);
    client.recover();
    return client;
  }

  get deviceId(): string {
    return this.state.deviceId;
  }

  get installed(): Installed | null {
    return this.state.current;
  }

  /** The file that runs now (the `current` link), or null. */
  get runningModel(): string | null {
    return this.dir.link('current');
  }

  private log(msg: string, data?: Record<string, unknown>) {
    this.opts.log?.(msg, data);
  }

  /**
   * After a crash between swapping the link and recording the outcome, the link may point at a
   * model whose smoke test never finished: put the last known-good model back (its update is
   * tried again on this cycle, from the already verified file).
   */
  private recover(): void {
    const want = this.state.current ? this.dir.modelFile(this.state.current.sha256) : null;
    const link = this.dir.link('current');
    if (link === want) return;
    if (want && existsSync(want)) {
      this.dir.swap('current', want);
      this.log('recovered: the current link points at the last known-good model again', { model: this.state.current?.model });
    } else if (!want && link) {
      this.dir.clear('current');
    }
  }

  private save(): void {
    this.dir.writeState(this.state);
  }

  private updater(): Updater {
    const base = tufBase(this.state.url, this.state.fleetId);
    return new Updater({ metadataDir: this.dir.tufDir, metadataBaseUrl: base, targetBaseUrl: `${base}/targets`, fetcher: new DeviceFetcher(this.state.deviceToken) });
  }

  /** One update cycle, then a check-in reporting what runs and the last update's outcome. */
  async cycle(): Promise<CycleOutcome> {
    const outcome = await this.update().catch((e: Error): CycleOutcome => ({ kind: 'failed', releaseId: null, error: e.message }));
    this.log(`cycle: ${outcome.kind}`, outcome as unknown as Record<string, unknown>);
    const health = outcome.kind === 'failed' || outcome.kind === 'refused' ? (this.state.current ? 'degraded' : 'failed') : 'ok';
    const error = outcome.kind === 'failed' || outcome.kind === 'refused' ? outcome.error : null;
    await checkIn(this.state.url, this.state.fleetId, this.state.deviceId, this.state.deviceToken, {
      installed_version: this.state.current ? this.state.current.model : null,
      health,
      last_error: error,
      ...(this.state.lastReport ? { update: this.state.lastReport } : {}),
    });
    return outcome;
  }

  private async update(): Promise<CycleOutcome> {
    const updater = this.updater();
    try {
      await updater.refresh();
    } catch (e) {
      if (e instanceof DownloadHTTPError && e.statusCode === 404 && /timestamp\.json/.test(e.message)) return { kind: 'nothing-released', detail: e.message };
      // Bad signatures, replayed or expired metadata: nothing changes on the device.
      return { kind: 'refused', error: `metadata refused: ${(e as Error).message}` };
    }
    const target = await updater.getTargetInfo(`${this.state.profile}/model.gguf`);
    if (!target) return { kind: 'nothing-released', detail: `the release has no file for profile ${this.state.profile}` };
    const custom = target.custom as { release_id?: string; model?: string };
    const releaseId = String(custom.release_id ?? '');
    const sha256 = target.hashes.sha256;
    if (this.state.current?.sha256 === sha256) {
      // The same file again (a rollback to the model that runs here): nothing to download.
      if (this.state.current.releaseId !== releaseId) {
        this.state.current = { ...this.state.current, releaseId };
        this.state.lastReport = { release_id: releaseId, status: 'installed', error: null, smoke_latency_ms: null };
        this.save();
      }
      return { kind: 'up-to-date', releaseId, sha256 };
    }
    if (this.state.refused.includes(sha256)) {
      // Keep a local rollback local: a failed file is not retried (a new release brings a new file).
      if (this.state.lastReport?.release_id !== releaseId) {
        this.state.lastReport = { release_id: releaseId, status: 'failed', error: 'this file failed its smoke test here before', smoke_latency_ms: null };
        this.save();
      }
      return { kind: 'failed', releaseId, error: 'this file failed its smoke test on this device before' };
    }
    return this.install(target, releaseId, String(custom.model ?? sha256));
  }

  private async install(target: TargetFile, releaseId: string, model: string): Promise<CycleOutcome> {
    const sha256 = target.hashes.sha256;
    const url = `${tufBase(this.state.url, this.state.fleetId)}/targets/${this.state.profile}/${sha256}.model.gguf`;
    let file = this.dir.modelFile(sha256);
    let fetched = 0;
    let resumedFrom = 0;
    if (!existsSync(file)) {
      const d = await downloadTarget(url, this.state.deviceToken, target, this.dir.partFile(sha256));
      fetched = d.fetched;
      resumedFrom = d.resumedFrom;
      file = this.dir.adopt(d.file, sha256);
    }
    fault('kill-before-swap');
    const before = this.state.current;
    if (before) this.dir.swap('previous', this.dir.modelFile(before.sha256));
    this.dir.swap('current', file);
    fault('kill-after-swap');
    const smoke = await (this.opts.smoke ?? smokeTest)(file);
    if (!smoke.ok) {
      // Local rollback: the previous model runs again (or none, on a first install).
      if (before) this.dir.swap('current', this.dir.modelFile(before.sha256));
      else this.dir.clear('current');
      this.state.refused = [...this.state.refused.filter((s) => s !== sha256), sha256].slice(-20);
      this.state.lastReport = { release_id: releaseId, status: 'failed', error: smoke.error, smoke_latency_ms: Math.round(smoke.latencyMs) };
      this.save();
      return { kind: 'failed', releaseId, error: smoke.error ?? 'smoke test failed' };
    }
    this.state.previous = before;
    this.state.current = { releaseId, model, sha256, sizeBytes: target.length, installedAt: new Date().toISOString() };
    this.state.lastReport = { release_id: releaseId, status: 'installed', error: null, smoke_latency_ms: Math.round(smoke.latencyMs) };
    this.save();
    return { kind: 'installed', releaseId, sha256, smokeLatencyMs: smoke.latencyMs, fetched, resumedFrom };
  }
}
