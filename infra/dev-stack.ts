/**
 * Development aid: a copy of the stack kept running until Ctrl-C (logs in <data>/logs).
 * Defaults are the test ports; DEV_PORT, DEV_POSTGRES_PORT, DEV_TEMPORAL_PORT, DEV_TEMPORAL_UI_PORT
 * and DEV_DATA_DIR let several copies run side by side; NO_WEB=1 skips the web app.
 */
import path from 'node:path';
import exitHook from 'async-exit-hook';
import { createLogger } from '@edgetune/config';
import { ROOT, startStack } from './stack';

const log = createLogger('dev-stack');
const num = (name: string, def: number) => Number(process.env[name] ?? def);
const stack = await startStack({
  dataDir: process.env.DEV_DATA_DIR ?? path.join(ROOT, '.data', 'dev'),
  port: num('DEV_PORT', 3100),
  postgresPort: num('DEV_POSTGRES_PORT', 5499),
  temporalPort: num('DEV_TEMPORAL_PORT', 7299),
  temporalUiPort: num('DEV_TEMPORAL_UI_PORT', 8299),
  echo: false,
  log,
  web: process.env.NO_WEB !== '1',
});
log.info({ url: stack.baseUrl, env: stack.env }, 'dev stack up');
exitHook.forceExitTimeout(90_000);
exitHook((done) => void stack.stop().then(done, done));
