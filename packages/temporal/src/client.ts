import { readFileSync } from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import { loadConfig, type Config } from '@edgetune/config';

/**
 * How every process here connects to Temporal: plain on the embedded stack; TLS / mTLS
 * (TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA) or an API key (TEMPORAL_API_KEY) when a
 * pool worker reaches a Temporal server on another machine.
 */
export function temporalConnectionOptions(config: Config = loadConfig()): { address: string; tls?: TLSConfig | boolean; apiKey?: string } {
  const file = (p: string) => new Uint8Array(readFileSync(p));
  const mtls = config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY ? { clientCertPair: { crt: file(config.TEMPORAL_TLS_CERT), key: file(config.TEMPORAL_TLS_KEY) } } : {};
  const ca = config.TEMPORAL_TLS_CA ? { serverRootCACertificate: file(config.TEMPORAL_TLS_CA) } : {};
  const tls = Object.keys({ ...mtls, ...ca }).length ? { ...mtls, ...ca } : config.TEMPORAL_API_KEY ? true : undefined;
  return { address: config.TEMPORAL_ADDRESS, ...(tls ? { tls } : {}), ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}) };
}

let pending: Promise<Client> | null = null;

/** One lazily-connected Temporal client per process. */
export function temporalClient(): Promise<Client> {
  pending ??= (async () => {
    const config = loadConfig();
    const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '5s' });
    return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  })().catch((e) => {
    pending = null;
    throw e;
  });
  return pending;
}
