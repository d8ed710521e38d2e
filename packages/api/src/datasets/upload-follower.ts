/**
 * Validation of a resumable upload while its parts still arrive. Parts land in the staged file in
 * any order; a follower reads that file as far as the bytes received without a gap from byte 0,
 * hands them to a validation thread (which streams the normalized output into the store), and
 * waits there for the next part. Completing the upload then waits only for the tail, instead of
 * reading and validating the whole file after the last byte: receiving and validating overlap.
 *
 * Followers live in this process only. A completion that finds none (the parts went to another
 * process, this one restarted, or the follower gave up) validates the staged file from the start,
 * as it always could. So a follower may stop at any time: it then removes what it stored.
 */
import { open } from 'node:fs/promises';
import { logger } from '../logger';
import type { Caller } from '../tenant';
import { dropUploadObject, startValidation, type CheckedFields, type StartedValidation } from './files';
import { removeStaged } from './staging';

/** Followers validating at once in this process: each holds a validation's state and a store part in memory. */
const MAX_FOLLOWERS = 8;
/** A follower that waited this long for the next byte gives up (a paused upload): completion validates from the start. */
const IDLE_MS = 2 * 60_000;
/** Bytes read from the staged file at a time. */
const READ_BYTES = 1 << 20;

export class UploadFollower {
  /** Bytes from 0 without a gap, as far as this process knows. */
  private prefix = 0;
  private read = 0;
  private wake: (() => void) | null = null;
  private readonly ctl = new AbortController();
  readonly started: StartedValidation;
  /** The validation refused the bytes (or stopped): nothing more need be read. */
  private failed = false;
  /** Told how many bytes validation has taken, as it takes them. */
  onProgress: ((bytes: number) => void) | null = null;
  /** Completion asked for the staged file to go once it is read. */
  private removeOnceRead = false;
  private removal: Promise<void> | null = null;

  constructor(
    caller: Caller,
    private readonly file: string,
    private readonly total: number,
    input: { filename: string; fields: CheckedFields },
  ) {
    this.started = startValidation(caller, this.chunks(), { ...input, signal: this.ctl.signal });
    this.started.result.catch(() => {
      this.failed = true;
      this.wakeUp();
    });
  }

  /** Whether it was stopped (it gave up waiting, or its upload went): its result is of no use. */
  get stopped(): boolean {
    return this.ctl.signal.aborted;
  }

  /** Every byte below `prefix` has arrived and will not change. */
  advance(prefix: number): void {
    if (prefix <= this.prefix) return;
    this.prefix = Math.min(prefix, this.total);
    this.wakeUp();
  }

  /**
   * Stops it; resolves once what it stored is gone (a running validation removes its own object as
   * it fails; a finished one's object is removed here).
   */
  async discard(why: string): Promise<void> {
    if (!this.stopped) this.ctl.abort(new Error(why));
    this.wakeUp();
    const validated = await this.started.result.then(
      () => true,
      () => false,
    );
    if (validated) await dropUploadObject(this.started.key, 'an abandoned upload');
  }

  /**
   * Completion's call, once every byte is in: the staged file goes as soon as validation has read
   * all of it, before the validation's input ends and the store completes the object (an S3 server
   * on this machine rewrites the whole object then, into the memory freed here). From then on a
   * failure of this follower fails the upload: there is nothing left to validate afresh.
   */
  removeStagedOnceRead(): Promise<void> {
    this.removeOnceRead = true;
    return this.read >= this.total ? this.removeFile() : Promise.resolve();
  }

  /** Whether the staged file is gone (or going): a failure now cannot fall back on it. */
  get stagedRemoved(): boolean {
    return this.removal !== null;
  }

  private removeFile(): Promise<void> {
    this.removal ??= removeStaged(this.file).catch((err) => logger.warn({ err, file: this.file }, 'could not remove a staged upload that was read'));
    return this.removal;
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async *chunks(): AsyncGenerator<Uint8Array> {
    const fh = await open(this.file, 'r');
    try {
      while (this.read < this.total) {
        if (this.read >= this.prefix) await this.nextPart();
        this.ctl.signal.throwIfAborted();
        if (this.failed) return;
        // Its own memory: the chunk moves to the validation thread.
        const buf = Buffer.allocUnsafeSlow(Math.min(READ_BYTES, this.prefix - this.read));
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.read);
        if (bytesRead === 0) throw new Error(`the staged file ended at byte ${this.read} of the ${this.prefix} received`);
        this.read += bytesRead;
        this.onProgress?.(this.read);
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
      if (this.read >= this.total && this.removeOnceRead) await this.removeFile();
    }
  }

  private nextPart(): Promise<void> {
    return new Promise((resolve) => {
      const idle = setTimeout(() => void this.discard('no part arrived for a while'), IDLE_MS);
      idle.unref();
      this.wake = () => {
        clearTimeout(idle);
        resolve();
      };
    });
  }
}

/** Followers still validating (those done only wait for their completion). */
function validating(): number {
  let n = 0;
  for (const e of followers.values()) if (!e.expiry) n++;
  return n;
}

interface Entry {
  follower: UploadFollower;
  /** Drops a follower whose validation ended but whose upload nobody completes. */
  expiry: NodeJS.Timeout | null;
}

const followers = new Map<string, Entry>();

/**
 * Tells the follower of an upload that its first `prefix` bytes are in; starts one with the first
 * of them, while fewer than MAX_FOLLOWERS run in this process.
 */
export function followUpload(
  caller: Caller,
  upload: { id: string; file: string; total: number; filename: string; fields: () => CheckedFields; onProgress: (bytes: number) => void },
  prefix: number,
): void {
  let entry = followers.get(upload.id);
  if (!entry) {
    if (prefix <= 0 || validating() >= MAX_FOLLOWERS) return;
    let follower: UploadFollower;
    try {
      follower = new UploadFollower(caller, upload.file, upload.total, { filename: upload.filename, fields: upload.fields() });
    } catch (err) {
      // The part is in either way: completion validates the staged file.
      logger.warn({ err, id: upload.id }, 'could not start validating the upload as it arrives');
      return;
    }
    follower.onProgress = upload.onProgress;
    const e: Entry = { follower, expiry: null };
    entry = e;
    followers.set(upload.id, e);
    const settled = () => {
      if (followers.get(upload.id) !== e) return;
      if (follower.stopped) {
        followers.delete(upload.id);
        return;
      }
      // Validated (or refused) with every byte in: it waits for the completion, though not forever.
      e.expiry = setTimeout(() => void dropFollower(upload.id, 'nobody completed the upload'), IDLE_MS);
      e.expiry.unref();
    };
    void follower.started.result.then(settled, settled);
  }
  entry.follower.advance(prefix);
}

/** The upload's follower, for its completion (it is no longer the map's to drop); null when there is none of use. */
export function takeFollower(uploadId: string): UploadFollower | null {
  const e = followers.get(uploadId);
  if (!e) return null;
  followers.delete(uploadId);
  if (e.expiry) clearTimeout(e.expiry);
  return e.follower.stopped ? null : e.follower;
}

/** Stops an upload's follower; resolves once what it stored is gone (the upload was aborted or failed). */
export async function dropFollower(uploadId: string, why: string): Promise<void> {
  const e = followers.get(uploadId);
  if (!e) return;
  followers.delete(uploadId);
  if (e.expiry) clearTimeout(e.expiry);
  await e.follower.discard(why);
}

/**
 * Stops every follower and removes what they stored; their uploads validate from the start when
 * completed. Tests use it to stand for a restart (the web server does not call it on the way out).
 */
export async function stopUploadFollowers(): Promise<void> {
  await Promise.all([...followers.keys()].map((id) => dropFollower(id, 'the server is stopping')));
}
