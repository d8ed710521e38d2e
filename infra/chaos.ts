/**
 * `npm run chaos` — kill tests on a stack of its own (bench ports, .data/chaos-<pid>): N jobs run
 * while random components are killed with kill -9 and restarted; then every job must have ended,
 * nothing lost or doubled (see kill-test.ts). Prints the figures; exits 1 on any violation.
 *
 *   CHAOS_JOBS=4  CHAOS_KILLS=12  CHAOS_SEED=<random>  CHAOS_GAP=10,30  CHAOS_DOWN=1,8  CHAOS_ORG_AGENTS=2
 *   CHAOS_TRAIN=<chat JSONL>  (default: the test fixture, made by `npm test`)
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '@edgetune/config';
import { printChaos, runChaos } from './kill-test';
import { ROOT, startStack } from './stack';

const log = createLogger('chaos');
const pair = (v: string | undefined, d: [number, number]): [number, number] => (v ? (v.split(',').map(Number) as [number, number]) : d);
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const trainFile = process.env.CHAOS_TRAIN ?? path.join(ROOT, '.data', 'test', 'fixtures', 'data', 'train.jsonl');
if (!existsSync(trainFile)) throw new Error(`no training file at ${trainFile}: run npm test once (it makes the fixture) or set CHAOS_TRAIN`);

const dataDir = path.join(ROOT, '.data', `chaos-${process.pid}`);
const stack = await startStack({
  dataDir,
  port: Number(process.env.CHAOS_PORT ?? 3160),
  postgresPort: Number(process.env.CHAOS_POSTGRES_PORT ?? 5460),
  temporalPort: Number(process.env.CHAOS_TEMPORAL_PORT ?? 7260),
  temporalUiPort: Number(process.env.CHAOS_TEMPORAL_UI_PORT ?? 8260),
  echo: false,
  log,
  web: true,
});
let failed = true;
try {
  log.info({ seed }, 'chaos: seed (set CHAOS_SEED to replay)');
  const report = await runChaos({
    stack,
    log,
    trainFile,
    jobs: Number(process.env.CHAOS_JOBS ?? 4),
    kills: Number(process.env.CHAOS_KILLS ?? 12),
    seed,
    gapSeconds: pair(process.env.CHAOS_GAP, [10, 30]),
    downSeconds: pair(process.env.CHAOS_DOWN, [1, 8]),
    settleMinutes: Number(process.env.CHAOS_SETTLE_MINUTES ?? 20),
    orgPoolAgents: Number(process.env.CHAOS_ORG_AGENTS ?? 2),
  });
  printChaos(report);
  process.stdout.write(`  seed ${seed}\n`);
  failed = report.violations.length > 0;
} finally {
  await stack.stop();
  if (!failed) rmSync(dataDir, { recursive: true, force: true });
  else process.stdout.write(`  logs kept in ${path.join(dataDir, 'logs')}\n`);
}
process.exit(failed ? 1 : 0);
