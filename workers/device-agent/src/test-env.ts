/** Shared setup for the device-agent tests: a private object store and the required fixtures. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Must run before anything reads the config (loadConfig() and storage() are lazy and cached).
const root = mkdtempSync(path.join(os.tmpdir(), 'edgetune-device-agent-test-'));
process.env.STORAGE_URL = `file://${path.join(root, 'objects')}`;
process.env.EDGETUNE_TOOL_CACHE_DIR = path.join(root, 'tool-cache');
export const testRoot = root;

const HOW = 'produce them with: bash workers/device-agent/scripts/make-fixture.sh <dir> (uses the trainer venv), then export the two paths it prints';

/** A fixture path from the environment; fails (never skips) when it is not given. */
export function fixture(name: 'EDGETUNE_TEST_GGUF' | 'EDGETUNE_TEST_EVAL_JSONL'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: the device-agent tests need a F16 GGUF of the tiny LFM2 model and its eval JSONL; ${HOW}`);
  return v;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
