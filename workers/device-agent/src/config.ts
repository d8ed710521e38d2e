import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '@edgetune/config';
import { storage, type Storage } from '@edgetune/storage';

/** The agent's settings: the shared schema (a pool machine needs no web secrets). */
export type AgentConfig = Config;
export const agentConfig = (): AgentConfig => loadConfig();
export const agentStorage = (): Storage => storage();

export const BUILD_SCRIPT = 'infra/llama-cpp.sh';

/** Path of a llama.cpp tool, or an error that says how to build it. */
export function llamaTool(name: string): string {
  const dir = agentConfig().LLAMA_CPP_DIR;
  const bin = path.join(dir, 'build', 'bin', name);
  if (!existsSync(bin)) {
    throw new Error(`${name} not found at ${bin}: build the llama.cpp tools with 'bash ${BUILD_SCRIPT}' (or point LLAMA_CPP_DIR at a build)`);
  }
  return bin;
}
