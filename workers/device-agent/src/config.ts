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
