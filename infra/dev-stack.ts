/** Development aid: the test stack on test ports, kept running until Ctrl-C (logs in .data/dev/logs). */
import path from 'node:path';
import exitHook from 'async-exit-hook';
import { createLogger } from '@edgetune/config';
import { ROOT, startStack } from './stack';

const log = createLogger('dev-stack');
const stack = await startStack({
  dataDir: path.join(ROOT, '.data', 'dev'),
  port: 3100,
  postgresPort: 5499,
  temporalPort: 7299,
  temporalUiPort: 8299,
  echo: false,
  log,
  web: process.env.NO_WEB !== '1',
});
log.info({ url: stack.baseUrl }, 'dev stack up');
exitHook.forceExitTimeout(90_000);
exitHook((done) => void stack.stop().then(done, done));
