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
    /** Unset: the embedded PostgreSQL of DATA_DIR (its password is in DATA_DIR/secrets/postgres-password). */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    EMBEDDED_POSTGRES_PORT: port.default(5433),
    TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    /** mTLS to Temporal (pool workers on other machines): PEM files of the client certificate and key, and of the server's CA. */
    TEMPORAL_TLS_CERT: z.string().optional(),
    TEMPORAL_TLS_KEY: z.string().optional(),
    TEMPORAL_TLS_CA: z.string().optional(),
    /** Temporal Cloud style API key (implies TLS). */
    TEMPORAL_API_KEY: z.string().optional(),
    TEMPORAL_UI_PORT: port.default(8233),
    STORAGE_URL: z.string().regex(/^(file|s3):\/\//, 'must be a file:// or s3:// URL').default('file://' + path.join(dataDir, 'objects')),
    /**
     * A platform pool's worker on another machine (trainer, device agent): the platform's URL.
     * Set, the worker holds no object store keys and reaches each job's objects with the job's
     * storage grant through the platform; unset, it uses STORAGE_URL itself.
     */
    PLATFORM_URL: z.string().url().optional(),
    /** An S3-compatible server (versitygw, MinIO, …); unset for AWS itself. Path-style addressing unless S3_FORCE_PATH_STYLE=false. */
    S3_ENDPOINT: z.string().url().optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    AUTH_SECRET: z.string().min(16).optional(),
    /** ed25519 private key (PKCS#8 PEM) that signs published manifests; npm start creates it. */
    SIGNING_KEY_FILE: z.string().default(path.join(dataDir, 'secrets', 'signing-key.pem')),
    /** 32 bytes, hex: encrypts fleets' TUF signing keys at rest. `npm start` creates one per data folder. */
    FLEET_KEY_SECRET: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (32 bytes)').optional(),
    TRAIN_POOL: z.string().regex(/^[a-z0-9-]+$/).default('local'),
    DEVICE_POOL: z.string().regex(/^[a-z0-9-]+$/).default('local'),
    /** llama.cpp source + build; infra/llama-cpp.sh links the cached build here. */
    LLAMA_CPP_DIR: z.string().default(path.join(root, '.tools', 'llama.cpp')),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    /** Largest upload accepted (bytes as sent, before decompression); refused early from the declared size. */
    MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(8 * 1024 ** 3),
    /** Decompression-bomb guard: the most a compressed upload may expand to. */
    MAX_DECOMPRESSED_BYTES: z.coerce.number().int().positive().default(32 * 1024 ** 3),
    /**
     * Threads that validate uploaded datasets beside the web server's event loop (unset: the cores
     * but one, 1 to 4; 0: validate on the event loop itself, which stalls other requests meanwhile).
     */
    DATASET_THREADS: z.coerce.number().int().min(0).max(64).optional(),
    /** Price overrides for training estimates, e.g. `lfm2-350m=40,lfm2-1.2b=150` (US cents per million training tokens). */
    TRAINING_PRICES: z
      .string()
      .regex(/^([a-z0-9.-]+=\d+)(,[a-z0-9.-]+=\d+)*$/, 'must look like lfm2-350m=40,lfm2-1.2b=150 (cents per million training tokens)')
      .optional(),
    /** Single sign-on: a provider is offered only when all of its variables are set. */
    GITHUB_CLIENT_ID: z.string().min(1).optional(),
    GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
    GOOGLE_CLIENT_ID: z.string().min(1).optional(),
    GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
    /** Issuer URL of any OpenID Connect provider; its discovery document lives under it. */
    OIDC_ISSUER: z.string().url().optional(),
    OIDC_CLIENT_ID: z.string().min(1).optional(),
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    /** Label of the OIDC button on the sign-in page ("Sign in with <OIDC_NAME>"). */
    OIDC_NAME: z.string().min(1).max(60).default('Single sign-on'),
    /** smtp(s)://user:pass@host:port; unset = e-mail lands in the outbox table (`npm run admin -- outbox`). */
    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
    EMAIL_FROM: z.string().min(3).default('edgetune <no-reply@edgetune.local>'),
    /** Reverse proxies in front of the web app; picks the client address out of X-Forwarded-For. */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
    /** Brute-force protection: fixed windows; reaching a limit locks that account / address. */
    RATE_LIMIT_WINDOW_MINUTES: z.coerce.number().int().positive().default(15),
    RATE_LIMIT_LOCKOUT_MINUTES: z.coerce.number().int().positive().default(15),
    RATE_LIMIT_SIGNIN_ACCOUNT: z.coerce.number().int().positive().default(10),
    RATE_LIMIT_SIGNIN_IP: z.coerce.number().int().positive().default(50),
    RATE_LIMIT_SIGNUP_IP: z.coerce.number().int().positive().default(20),
    RATE_LIMIT_RESET_ACCOUNT: z.coerce.number().int().positive().default(5),
    RATE_LIMIT_RESET_IP: z.coerce.number().int().positive().default(20),
    RATE_LIMIT_API_KEY_IP: z.coerce.number().int().positive().default(50),
    RATE_LIMIT_API_KEY_ACCOUNT: z.coerce.number().int().positive().default(20),
    /** Requests one organization pool's agents may make per minute before they get 429. */
    RATE_LIMIT_POOL_AGENT: z.coerce.number().int().positive().default(1200),
    /**
     * How long a job's device task waits for an online agent of its pool that serves its profile
     * before the job fails with that reason (minutes; fractions allowed).
     */
    POOL_WAIT_MINUTES: z.coerce.number().positive().default(30),
    /** Billing: unset = billing off (self-hosted); only QUOTAS then limits anything. */
    STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[0-9A-Za-z_]+$/, 'must be a Stripe secret key (sk_test_… or sk_live_…)').optional(),
    /** The signing secret of the webhook endpoint /api/webhooks/stripe (whsec_…). */
    STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[0-9A-Za-z_]+$/, 'must be a Stripe webhook signing secret (whsec_…)').optional(),
    /** Another Stripe API server (stripe-mock in tests), e.g. http://127.0.0.1:12111. */
    STRIPE_API_BASE: z.string().url().optional(),
    /** The prices Checkout subscribes an organization to for pay as you go (comma-separated price ids, metered ones included). */
    STRIPE_PAYG_PRICES: z.string().regex(/^price_[0-9A-Za-z_]+(,price_[0-9A-Za-z_]+)*$/, 'must be Stripe price ids (price_…), comma-separated').optional(),
    /** Billing Meter event names are <prefix><usage kind>, e.g. edgetune_training_tokens. */
    STRIPE_METER_PREFIX: z.string().regex(/^[a-z0-9_]*$/).default('edgetune_'),
    /**
     * Quotas of a self-hosted install (billing off), e.g. `concurrent_jobs=4,stored_bytes=1099511627776`;
     * unset quotas are unlimited. With billing on, the organization's plan sets them.
     */
    QUOTAS: z
      .string()
      .regex(/^([a-z_]+=\d+)(,[a-z_]+=\d+)*$/, 'must look like concurrent_jobs=4,org_pools=2')
      .optional(),
  }).superRefine((c, ctx) => {
    if (Boolean(c.TEMPORAL_TLS_CERT) !== Boolean(c.TEMPORAL_TLS_KEY)) {
      ctx.addIssue({ code: 'custom', path: [c.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT'], message: 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate and its key)' });
    }
    // A half-configured provider is an operator mistake: fail at start instead of hiding the button.
    for (const group of ssoVariableGroups) {
      const set = group.filter((k) => c[k] !== undefined);
      if (set.length === 0 || set.length === group.length) continue;
      for (const k of group) {
        if (c[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `required because ${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set` });
      }
    }
  });
}

/** The variables that together configure one SSO provider. */
export const ssoVariableGroups = [
  ['GITHUB_CLIENT_ID', 'GITHUB_CLIENT_SECRET'],
  ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'],
  ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'],
] as const;

export type Config = Omit<z.infer<ReturnType<typeof configSchema>>, 'DATABASE_URL'> & { PUBLIC_URL: string; DATABASE_URL: string };

/** Where the embedded PostgreSQL's random password is kept (infra/postgres.ts writes it). */
export function embeddedPostgresPasswordFile(dataDir: string): string {
  return path.join(dataDir, 'secrets', 'postgres-password');
}

/** The embedded cluster's URL: its random password once `npm start` has made one. */
function embeddedDatabaseUrl(dataDir: string, port: number): string {
  const file = embeddedPostgresPasswordFile(dataDir);
  const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : 'postgres';
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/edgetune`;
}

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
    DATABASE_URL: c.DATABASE_URL ?? embeddedDatabaseUrl(c.DATA_DIR, c.EMBEDDED_POSTGRES_PORT),
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

/**
 * Variables only the web app and the orchestrator may hold. Pool workers (trainer, device agent)
 * and every tool they run get an environment without them.
 */
export const PLATFORM_SECRETS = [
  'DATABASE_URL',
  'AUTH_SECRET',
  'NEXTAUTH_SECRET',
  'SIGNING_KEY_FILE',
  'FLEET_KEY_SECRET',
  'SMTP_URL',
  'GITHUB_CLIENT_SECRET',
  'GOOGLE_CLIENT_SECRET',
  'OIDC_CLIENT_SECRET',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'PGPASSWORD',
] as const;

/** The environment minus PLATFORM_SECRETS and every sign-in provider setting (only the web app signs people in). */
export function withoutPlatformSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of [...PLATFORM_SECRETS, ...ssoVariableGroups.flat(), 'OIDC_NAME']) delete out[name];
  return out;
}

export { createLogger, type Logger } from './log';
