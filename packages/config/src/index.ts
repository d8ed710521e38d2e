import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** The repository root: the nearest ancestor of cwd whose package.json is named "edgetune". */
export function findRepoRoot(start = process.cwd()): string {
  if (process.env.EDGETUNE_ROOT) return process.env.EDGETUNE_ROOT;
  let dir = path.resolve(start);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'edgetune') return dir;
      } catch {
        /* not ours */
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start);
    dir = parent;
  }
}

const port = z.coerce.number().int().min(1).max(65535);

/**
 * Every process reads its settings here. Defaults describe the embedded single-machine stack
 * that `npm start` brings up; each component can be pointed elsewhere by environment.
 */
export function configSchema(root: string) {
  const dataDir = process.env.DATA_DIR ? path.resolve(process.env.DATA_DIR) : path.join(root, '.data');
  return z.object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    ROOT_DIR: z.string().default(root),
    DATA_DIR: z.string().default(dataDir),
    HOST: z.string().default('127.0.0.1'),
    PORT: port.default(3000),
    PUBLIC_URL: z.string().url().optional(),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres:postgres@127.0.0.1:5433/edgetune'),
    EMBEDDED_POSTGRES_PORT: port.default(5433),
    TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_UI_PORT: port.default(8233),
    STORAGE_URL: z.string().regex(/^(file|s3):\/\//, 'must be a file:// or s3:// URL').default('file://' + path.join(dataDir, 'objects')),
    AUTH_SECRET: z.string().min(16).optional(),
    /** ed25519 private key (PKCS#8 PEM) that signs published manifests; npm start creates it. */
    SIGNING_KEY_FILE: z.string().default(path.join(dataDir, 'secrets', 'signing-key.pem')),
    TRAIN_POOL: z.string().regex(/^[a-z0-9-]+$/).default('local'),
    DEVICE_POOL: z.string().regex(/^[a-z0-9-]+$/).default('local'),
    /** llama.cpp source + build; infra/llama-cpp.sh links the cached build here. */
    LLAMA_CPP_DIR: z.string().default(path.join(root, '.tools', 'llama.cpp')),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(512 * 1024 * 1024),
  });
}

export type Config = z.infer<ReturnType<typeof configSchema>> & { PUBLIC_URL: string };

let cached: Config | null = null;

export class ConfigError extends Error {}

/** Parses the environment once; a malformed variable fails with a message naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  if (cached && env === process.env) return cached;
  const root = findRepoRoot();
  const parsed = configSchema(root).safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const config: Config = {
    ...c,
    PUBLIC_URL: c.PUBLIC_URL ?? `http://${c.HOST}:${c.PORT}`,
  };
  if (env === process.env) cached = config;
  return config;
}

/**
 * The session signing secret. Only the web app needs it, so it is resolved on demand: pool
 * machines (trainer, device agents) run without one.
 */
export function authSecret(config: Config = loadConfig()): string {
  return config.AUTH_SECRET ?? readOrFail(path.join(config.DATA_DIR, 'secrets', 'auth-secret'), 'AUTH_SECRET');
}

function readOrFail(file: string, name: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new ConfigError(`Invalid configuration:\n  ${name}: not set, and ${file} (written by npm start) does not exist`);
}

export { createLogger, type Logger } from './log';
