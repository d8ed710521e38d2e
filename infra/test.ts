/**
 * `npm test` after setup: every suite, in order of cost.
 *   1. TypeScript unit tests (node:test, no services)
 *   2. a real stack on test ports (PostgreSQL, Temporal, workers, web) with its own data folder,
 *      then the trainer's pytest suite (its worker tests use that Temporal server), the
 *      integration tests, the health-check test, the Playwright e2e against it, and last the kill
 *      tests (components killed with kill -9 while jobs run; nothing may be lost or doubled).
 * Prints one closing line "N passed, N failed" over the suites and exits non-zero on a failure.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@edgetune/config';
import { printChaos, runChaos } from './kill-test';
import { startOidcTestProvider, type OidcTestProvider } from './oidc-test-provider';
import { startS3Server, type S3Server } from './s3-server';
import { startBillingServers, type BillingServers } from './billing-servers';
import { adminApiKey, ROOT, startStack, type Stack } from './stack';

const log = createLogger('test');
const only = process.env.EDGETUNE_TEST_ONLY?.split(',') ?? null;
// EDGETUNE_TEST_FILES=<regex> narrows the unit and integration suites to the test files whose paths match.
const fileFilter = process.env.EDGETUNE_TEST_FILES ? new RegExp(process.env.EDGETUNE_TEST_FILES) : null;
// EDGETUNE_E2E_GREP=<regex> runs only the e2e tests whose titles match.
const e2eGrep = process.env.EDGETUNE_E2E_GREP;
const results: { suite: string; ok: boolean; seconds: number }[] = [];

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function suite(name: string, fn: () => Promise<boolean>, always = false): Promise<void> {
  if (only && !only.includes(name) && !always) return;
  process.stdout.write(`\n##### ${name}\n`);
  const t0 = Date.now();
  let ok = false;
  try {
    ok = await fn();
  } catch (e) {
    log.error({ suite: name, err: (e as Error).stack }, 'suite crashed');
  }
  const seconds = (Date.now() - t0) / 1000;
  results.push({ suite: name, ok, seconds });
  process.stdout.write(`##### ${name}: ${ok ? 'ok' : 'FAILED'} in ${seconds.toFixed(0)} s\n`);
}

/** Test files under the given top-level folders whose names match `suffix`. */
function files(folders: string[], suffix: RegExp, exclude: RegExp[] = []): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (suffix.test(e.name) && !exclude.some((r) => r.test(e.name))) out.push(rel);
    }
  };
  for (const f of folders) walk(f);
  return out.filter((f) => !fileFilter || fileFilter.test(f)).sort();
}

const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const python = path.join(ROOT, 'workers', 'trainer', '.venv', 'bin', 'python');
const testData = path.join(ROOT, '.data', 'test');
const baseEnv: NodeJS.ProcessEnv = { ...process.env, EDGETUNE_ROOT: ROOT, LLAMA_CPP_DIR: path.join(ROOT, '.tools', 'llama.cpp'), HF_HUB_OFFLINE: '1', NEXT_TELEMETRY_DISABLED: '1' };

rmSync(testData, { recursive: true, force: true });
mkdirSync(testData, { recursive: true });


// Fixtures for the device agent: an F16 GGUF of lfm2-tiny and an eval split, made by the real trainer.
const fixtures = path.join(testData, 'fixtures');
await suite('fixtures', async () => {
  mkdirSync(fixtures, { recursive: true });
  return (await run('bash', [path.join(ROOT, 'workers/device-agent/scripts/make-fixture.sh'), fixtures], baseEnv)) === 0;
}, true);

const unitFiles = files(['packages', 'workers/orchestrator', 'workers/device-agent', 'infra', 'apps/web/lib'], /\.test\.ts$/, [/\.integration\.test\.ts$/]);
await suite('unit (node:test)', async () =>
  (await run(tsx, ['--test', '--test-concurrency=1', ...unitFiles], {
    ...baseEnv,
    EDGETUNE_TEST_GGUF: path.join(fixtures, 'lfm2-tiny-f16.gguf'),
    EDGETUNE_TEST_EVAL_JSONL: path.join(fixtures, 'data', 'eval.jsonl'),
    EDGETUNE_TEST_TRAIN_JSONL: path.join(fixtures, 'data', 'train.jsonl'),
    STORAGE_URL: `file://${path.join(testData, 'unit-objects')}`,
    DATA_DIR: path.join(testData, 'unit'),
    AUTH_SECRET: 'unit-test-secret-unit-test-secret',
  })) === 0,
);

let stack: Stack | null = null;
let oidc: OidcTestProvider | null = null;
let s3: S3Server | null = null;
let billing: BillingServers | null = null;
const needStack = !only || only.some((s) => ['trainer (pytest)', 'integration', 'health', 'e2e', 'kill tests'].includes(s));
if (needStack) {
  await suite('stack start', async () => {
    const port = Number(process.env.TEST_PORT ?? 3100);
    // A real OpenID provider on loopback, configured into the web app as its SSO provider.
    oidc = await startOidcTestProvider({
      port: Number(process.env.TEST_OIDC_PORT ?? 3199),
      redirectUris: [`http://127.0.0.1:${port}/api/auth/callback/oidc`],
    });
    // A real S3 server (versitygw): the storage tests of both languages run against it and the filesystem.
    s3 = await startS3Server({ dataDir: testData, port: Number(process.env.TEST_S3_PORT ?? 7098), bucket: 'edgetune-test', log, root: ROOT });
    stack = await startStack({
      dataDir: path.join(testData, 'stack'),
      port,
      postgresPort: Number(process.env.TEST_POSTGRES_PORT ?? 5499),
      temporalPort: Number(process.env.TEST_TEMPORAL_PORT ?? 7299),
      temporalUiPort: Number(process.env.TEST_TEMPORAL_UI_PORT ?? 8299),
      echo: false,
      log,
      web: true,
      // A second platform device pool beside `local`: the pools test measures one job on it and on an organization pool.
      devicePools: ['lab2'],
      // Its trainer and device agents hold no S3 keys: each job's grant, through the web app.
      brokeredPools: true,
      // The whole stack keeps its objects in the S3 server, as a multi-machine deployment does.
      // Organization pools: a short wait for an agent, and a flood limit a test can reach.
      // lfm2-tiny is free in the catalog; a price makes estimates, costs and the spending cap testable.
      extraEnv: { ...oidc.env, OIDC_NAME: 'Test IdP', ...s3.env('stack'), POOL_WAIT_MINUTES: '1', RATE_LIMIT_POOL_AGENT: '150', TRAINING_PRICES: 'lfm2-tiny=50000' },
    });
    // stripe-mock and a second web app with billing on, on the same database.
    billing = await startBillingServers({
      root: ROOT,
      dataDir: path.join(testData, 'stack'),
      stripePort: Number(process.env.TEST_STRIPE_PORT ?? 12199),
      webPort: Number(process.env.TEST_BILLING_PORT ?? 3101),
      stackEnv: stack.env,
      log,
    });
    return true;
  }, true);
}

if (stack) {
  const s = stack as Stack;
  const s3Env = { ...(s3 as S3Server | null)?.testEnv(), EDGETUNE_REQUIRE_S3: '1' };
  // The trainer's own worker tests use the stack's Temporal server (on their own task queues).
  await suite('trainer (pytest)', async () =>
    (await run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'workers/trainer/tests'], {
      ...baseEnv,
      TEMPORAL_ADDRESS: s.env.TEMPORAL_ADDRESS,
      EDGETUNE_REQUIRE_TEMPORAL: '1',
      ...s3Env,
    })) === 0,
  );

  const env = {
    ...s.env,
    ...s3Env,
    BASE_URL: s.baseUrl,
    EDGETUNE_TEST_TRAIN_JSONL: path.join(fixtures, 'data', 'train.jsonl'),
    EDGETUNE_TEST_EVAL_JSONL: path.join(fixtures, 'data', 'eval.jsonl'),
    // The device client's test installs this real model and smoke-tests it with node-llama-cpp.
    EDGETUNE_TEST_GGUF: path.join(fixtures, 'lfm2-tiny-f16.gguf'),
    ...(billing as BillingServers | null)?.testEnv(),
  };

  await suite('integration', async () => {
    const integrationFiles = files(['packages', 'workers/orchestrator', 'workers/device-agent', 'infra', 'apps'], /\.integration\.test\.ts$/);
    return (await run(tsx, ['--test', '--test-concurrency=1', ...integrationFiles], env)) === 0;
  });

  // schemathesis drives every operation of /api/v1/openapi.json with generated input (a bounded
  // number of examples): no answer may be a 5xx, and every answer must match the document
  // (status codes, content types, the error shape of every 4xx).
  await suite('fuzz (schemathesis)', async () => {
    const key = adminApiKey(s.env, 'fuzz', 'read,train,publish,fleet,admin');
    const reportDir = path.join(testData, 'fuzz');
    mkdirSync(reportDir, { recursive: true });
    const code = await run(
      path.join(ROOT, '.tools', 'fuzz-venv', 'bin', 'schemathesis'),
      [
        'run', `${s.baseUrl}/api/v1/openapi.json`,
        '--header', `Authorization: Bearer ${key}`,
        '--checks', 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
        '--phases', 'examples,coverage,fuzzing',
        '--max-examples', process.env.FUZZ_MAX_EXAMPLES ?? '20',
        '--seed', process.env.FUZZ_SEED ?? '1',
        '--workers', '1',
        '--request-timeout', '30',
        '--no-color',
        '--suppress-health-check', 'all',
        '--report', 'junit', '--report-dir', reportDir,
      ],
      baseEnv,
    );
    return code === 0;
  });

  await suite('health', async () => {
    const health = async () => {
      const r = await fetch(`${s.baseUrl}/api/health`);
      return { status: r.status, body: (await r.json()) as { status: string; components: Record<string, unknown> } };
    };
    const before = await health();
    if (before.status !== 200) throw new Error(`expected 200 before, got ${before.status} ${JSON.stringify(before.body)}`);
    await s.stopComponent('device-agent');
    // Temporal forgets a poller about a minute after its last poll; wait for the health check to notice.
    let down = await health();
    for (let i = 0; i < 200 && down.status === 200; i++) {
      await sleep(1000);
      down = await health();
    }
    const text = JSON.stringify(down.body);
    process.stdout.write(`health with the device agent stopped: ${down.status} ${text}\n`);
    s.startComponent('device-agent');
    let after = await health();
    for (let i = 0; i < 120 && after.status !== 200; i++) {
      await sleep(1000);
      after = await health();
    }
    return down.status === 503 && /device/i.test(text) && after.status === 200;
  });

  await suite('e2e', async () =>
    (await run(path.join(ROOT, 'node_modules', '.bin', 'playwright'), ['test', '-c', 'e2e/playwright.config.ts', ...(e2eGrep ? ['--grep', e2eGrep] : [])], {
      ...env,
      E2E_ARTIFACTS_DIR: path.join(ROOT, 'e2e', 'test-results'),
    })) === 0,
  );

  // Last, because it kills components of the stack: a bounded run of `npm run chaos`.
  await suite('kill tests', async () => {
    const report = await runChaos({
      stack: s,
      log,
      trainFile: path.join(fixtures, 'data', 'train.jsonl'),
      jobs: 3,
      kills: 6,
      seed: Number(process.env.CHAOS_SEED ?? 1),
      gapSeconds: [3, 8],
      downSeconds: [1, 5],
      settleMinutes: 10,
      // One agent of an organization pool, killed like the rest: the second job measures on it.
      orgPoolAgents: 1,
    });
    printChaos(report);
    return report.violations.length === 0;
  });

  await (billing as BillingServers | null)?.stop();
  await s.stop();
}
await (oidc as OidcTestProvider | null)?.stop();
await (s3 as S3Server | null)?.stop();

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
process.stdout.write('\n');
for (const r of results) process.stdout.write(`${r.ok ? 'ok    ' : 'FAILED'} ${r.suite} (${r.seconds.toFixed(0)} s)\n`);
if (failed) process.stdout.write(`component logs: ${path.join(testData, 'stack', 'logs')}\n`);
process.stdout.write(`suites: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
