import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '@edgetune/config';

let pending: Promise<Client> | null = null;

/** One lazily-connected Temporal client per process. */
export function temporalClient(): Promise<Client> {
  pending ??= (async () => {
    const config = loadConfig();
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: '5s' });
    return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  })().catch((e) => {
    pending = null;
    throw e;
  });
  return pending;
}
