/** `npm start`: the whole platform in the foreground until Ctrl-C. */
import exitHook from 'async-exit-hook';
import { createLogger, loadConfig } from '@edgetune/config';
import { startStack } from './stack';

const log = createLogger('edgetune');

try {
  // Ports and folders come from the one config schema (a malformed variable fails here, named).
  const config = loadConfig();
  const stack = await startStack({
    dataDir: config.DATA_DIR,
    port: config.PORT,
    postgresPort: config.EMBEDDED_POSTGRES_PORT,
    temporalPort: Number(config.TEMPORAL_ADDRESS.split(':')[1]),
    temporalUiPort: config.TEMPORAL_UI_PORT,
    echo: process.env.EDGETUNE_QUIET !== '1',
    log,
    web: true,
  });
  log.info({ url: stack.baseUrl, temporalUi: `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` }, `edgetune is up at ${stack.baseUrl}`);
  // embedded-postgres exits the process from its own SIGINT/SIGTERM hook (async-exit-hook);
  // registering our shutdown there too makes the exit wait until every component has stopped.
  exitHook.forceExitTimeout(90_000);
  exitHook((done) => {
    log.info('stopping');
    stack.stop().then(done, (e: unknown) => {
      log.error({ err: String(e) }, 'shutdown failed');
      done();
    });
  });
} catch (e) {
  log.fatal({ err: (e as Error).message }, 'edgetune failed to start');
  process.exit(1);
}
