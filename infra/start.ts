/** `npm start`: the whole platform in the foreground until Ctrl-C. */
import { loadConfig } from '@edgetune/config';
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
  void loadConfig; // config errors surface in the components, which all parse it at start
  log.info({ url: stack.baseUrl, temporalUi: `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? 8233}` }, `edgetune is up at ${stack.baseUrl}`);
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (e) {
  log.fatal({ err: (e as Error).message }, 'edgetune failed to start');
  process.exit(1);
}
