/**
 * The device's folder, where nothing is ever half-written: state and metadata are replaced by
 * rename after fsync, model files enter `models/` only once verified, and the model that runs is
 * the `current` symbolic link, swapped by rename (atomic on POSIX file systems).
 *
 *   state.json            enrollment (device id and token, mode 0600) and what is installed
 *   tuf/                  trusted TUF metadata (tuf-js keeps it)
 *   downloads/<sha>.part  a download in progress (resumed by Range)
 *   models/<sha>.gguf     verified models
 *   current, previous     links to the running model and the one before it
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Installed {
  releaseId: string;
  model: string;
  sha256: string;
  sizeBytes: number;
  installedAt: string;
}

export interface DeviceState {
  url: string;
  fleetId: string;
  deviceId: string;
  deviceToken: string;
  name: string;
  profile: string;
  channel: string;
  current: Installed | null;
  previous: Installed | null;
  /** Files whose smoke test failed here: not installed again (a newer release brings another file). */
  refused: string[];
  /** The last update outcome, repeated in check-ins until a new one replaces it. */
  lastReport: { release_id: string; status: 'installed' | 'failed'; error: string | null; smoke_latency_ms: number | null } | null;
}

export class DeviceDir {
  constructor(readonly root: string) {
    for (const d of ['tuf', 'downloads', 'models']) mkdirSync(path.join(root, d), { recursive: true });
  }

  get tufDir(): string {
    return path.join(this.root, 'tuf');
  }

  partFile(sha256: string): string {
    return path.join(this.root, 'downloads', `${sha256}.part`);
  }

  modelFile(sha256: string): string {
    return path.join(this.root, 'models', `${sha256}.gguf`);
  }

  readState(): DeviceState | null {
    const f = path.join(this.root, 'state.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as DeviceState) : null;
  }

  writeState(s: DeviceState): void {
    writeDurably(path.join(this.root, 'state.json'), JSON.stringify(s, null, 2), 0o600);
  }

  /** The file `current` points at, or null (nothing installed yet). */
  link(name: 'current' | 'previous'): string | null {
    try {
      return path.resolve(this.root, readlinkSync(path.join(this.root, name)));
    } catch {
      return null;
    }
  }

  /** Points `name` at `target` by renaming a fresh link over it: readers see the old or the new link. */
  swap(name: 'current' | 'previous', target: string): void {
    const tmp = path.join(this.root, `.${name}.tmp`);
    rmSync(tmp, { force: true });
    symlinkSync(path.relative(this.root, target), tmp);
    renameSync(tmp, path.join(this.root, name));
    fsyncDir(this.root);
  }

  /** Removes a link (nothing runs); a rename-free unlink is atomic too. */
  clear(name: 'current' | 'previous'): void {
    rmSync(path.join(this.root, name), { force: true });
    fsyncDir(this.root);
  }

  /** Moves a verified download into models/ (same file system: a rename). */
  adopt(part: string, sha256: string): string {
    const dest = this.modelFile(sha256);
    const fd = openSync(part, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(part, dest);
    fsyncDir(path.dirname(dest));
    return dest;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeDurably(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}
