import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@edgetune/config';

export const BUILD_SCRIPT = 'infra/llama-cpp.sh';

/** Path of a llama.cpp tool, or an error that says how to build it. */
export function llamaTool(name: string): string {
  const dir = loadConfig().LLAMA_CPP_DIR;
  const bin = path.join(dir, 'build', 'bin', name);
  if (!existsSync(bin)) {
    throw new Error(`${name} not found at ${bin}: build the llama.cpp tools with 'bash ${BUILD_SCRIPT}' (or point LLAMA_CPP_DIR at a build)`);
  }
  return bin;
}

/** An integer setting from the environment (at least `min`), or the default when unset. */
export function envInt(name: string, dflt: number, min = 0): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`Invalid configuration:\n  ${name}: must be an integer of at least ${min}`);
  return n;
}

/** A non-negative number setting (0.1 = 10 %), or the default when unset. */
export function envFraction(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`Invalid configuration:\n  ${name}: must be a non-negative number (0.1 = 10 %)`);
  return n;
}
