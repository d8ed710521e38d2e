/**
 * PostgreSQL notifications for this process: one LISTEN connection, shared by every channel a
 * module subscribes to (pool task wake-ups, fleet changes). Notifications are delivered when the
 * sending transaction commits.
 *
 * A notification can be missed while the connection is down, so each subscriber says what to do
 * then (`reset`): it is called when the connection is lost and again once it is back. Until the
 * connection is up (`listening()`), a subscriber must not trust anything it learnt from
 * notifications alone (a cache must go to the database).
 */
import { sql } from 'drizzle-orm';
import { newListenClient, type Db } from '@edgetune/db';
import { logger } from './logger';

export interface Subscriber {
  /** A notification on the channel, with its payload. */
  message: (payload: string | null) => void;
  /** Notifications may have been missed: the connection was lost, or has just come (back) up. */
  reset: () => void;
}

type ListenClient = ReturnType<typeof newListenClient>;

const subscribers = new Map<string, Set<Subscriber>>();
let client: ListenClient | null = null;
let connecting: Promise<ListenClient | null> | null = null;
let retryAfter = 0;
/** How long after a failure the connection is tried again. */
const RETRY_MS = 1000;

const quoteChannel = (channel: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`Bad notification channel name '${channel}'`);
  return channel;
};

function resetAll(): void {
  for (const set of subscribers.values()) for (const s of set) s.reset();
}

/** Subscribes to a channel (LISTEN is issued on the shared connection, now or when it connects). */
export function subscribe(channel: string, subscriber: Subscriber): () => void {
  quoteChannel(channel);
  let set = subscribers.get(channel);
  if (!set) {
    set = new Set();
    subscribers.set(channel, set);
    const c = client;
    if (c) c.query(`LISTEN ${channel}`).catch((e: Error) => lost(c, e.message));
  }
  set.add(subscriber);
  return () => {
    set.delete(subscriber);
  };
}

function lost(c: ListenClient, why: string): void {
  if (client !== c) return;
  client = null;
  retryAfter = Date.now() + RETRY_MS;
  logger.warn({ why }, 'the notification connection was lost; it is tried again on next use');
  resetAll();
  c.end().catch(() => undefined);
}

/** The LISTEN connection, connecting on first use; null while it cannot be had (tried again after a pause). */
export async function listening(): Promise<boolean> {
  if (client) return true;
  if (Date.now() < retryAfter) return false;
  connecting ??= (async () => {
    const c = newListenClient();
    c.on('notification', (m) => {
      for (const s of subscribers.get(m.channel) ?? []) s.message(m.payload ?? null);
    });
    c.on('error', (e) => lost(c, e.message));
    c.on('end', () => lost(c, 'ended'));
    try {
      await c.connect();
      for (const channel of subscribers.keys()) await c.query(`LISTEN ${channel}`);
      client = c;
      // Whatever happened before LISTEN took effect was not heard.
      resetAll();
      return c;
    } catch (e) {
      retryAfter = Date.now() + RETRY_MS;
      logger.warn({ err: (e as Error).message }, 'could not listen for notifications; tried again on next use');
      await c.end().catch(() => undefined);
      return null;
    }
  })().finally(() => {
    connecting = null;
  });
  return (await connecting) !== null;
}

/** Whether the connection is up now, without trying to connect. */
export function isListening(): boolean {
  return client !== null;
}

/** Sends a notification on the channel when `tx` commits. */
export async function notify(tx: Db, channel: string, payload: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${quoteChannel(channel)}, ${payload})`);
}

/** Ends the LISTEN connection (tests, shutdown); subscribers are reset. */
export async function stopListening(): Promise<void> {
  const c = client;
  client = null;
  if (c) resetAll();
  await c?.end().catch(() => undefined);
}
