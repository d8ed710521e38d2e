/** `npm start`: the whole platform in the foreground until Ctrl-C. */
import exitHook from 'async-exit-hook';
import { createLogger } from './log';
import { startStack } from './stack';

const log = createLogger('edgetune');
const port = Number(process.env.PORT ?? 3000);
const dataDir = process.env.DATA_DIR ?? `${process.cwd()}/.data`;
process.env.DATA_DIR = dataDir;

try {
  const stack = await startStack({
    dataDir,
    port,
    postgresPort: Number(process.env.EMBEDDED_POSTGRES_PORT ?? 5433),
    temporalPort: Number((process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233').split(':')[1]),
    temporalUiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
    echo: process.env.EDGETUNE_QUIET !== '1',
    log,
    web: true,
  });
  log.info({ url: stack.baseUrl, temporalUi: `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? 8233}` }, `edgetune is up at ${stack.baseUrl}`);
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
