/**
 * What the device routes would otherwise ask the database on every request of every device: who
 * a fleet or device token is, and which release a (fleet, channel, bucket) is served.
 *
 * An entry is trusted only while this process hears `fleet_changes`: the triggers of migration
 * 0012 send it, with the fleet's id, on every write that could make an entry wrong (a token
 * rotated, a device revoked, a release created, advanced, halted, rolled back; a fleet or its
 * organization deleted), whoever writes it. An entry is dropped when its fleet changed at or after
 * the moment its lookup began, so a lookup racing a change is never kept. While the notification
 * connection is down nothing is read from or written to the cache, and everything in it is
 * dropped when the connection is lost or comes back (notifications may have been missed).
 *
 * A change reaches another process's cache when its notification arrives (milliseconds after the
 * commit); the process that made it drops its own entries at once (`fleetChanged`).
 */
import { isListening, listening as startListening, subscribe } from '../notifications';

const CHANNEL = 'fleet_changes';

interface ChangeClock {
  /** Counts changes; an entry is good if its fleet last changed before its lookup began. */
  tick: number;
  /** The tick of each fleet's last change. */
  changedAt: Map<string, number>;
  /** Entries looked up before this tick are dropped (the connection was lost or came back). */
  resetAt: number;
}

// One clock per process: the web server's device routes and Next.js's bundle of this package (which
// serves the portal and REST writes) are two copies of this module, and a change made through one
// must drop the other's entries at once.
const clockKey = Symbol.for('edgetune.fleet-change-clock');
const clock: ChangeClock = ((globalThis as Record<symbol, unknown>)[clockKey] as ChangeClock | undefined) ?? { tick: 0, changedAt: new Map(), resetAt: 0 };
(globalThis as Record<symbol, unknown>)[clockKey] = clock;

/** Drops this process's entries of the fleet (a change it made itself; other processes hear the trigger's notification). */
export function fleetChanged(fleetId: string): void {
  clock.changedAt.set(fleetId, ++clock.tick);
}

subscribe(CHANNEL, {
  message: (payload) => {
    if (payload) fleetChanged(payload);
    else clock.resetAt = ++clock.tick;
  },
  reset: () => {
    clock.resetAt = ++clock.tick;
    for (const c of caches) c.clear();
  },
});

/**
 * An entry is looked up again after this long whatever was heard: it bounds how stale an entry
 * can be should a notification connection die silently (no error, no end). Devices call about
 * once a minute, so an entry serves a handful of their calls.
 */
export const MAX_AGE_MS = 5 * 60_000;

interface Entry<V> {
  fleetId: string;
  lookedUpAt: number;
  /** Date.now() at the lookup. */
  at: number;
  value: V;
}

const caches: FleetCache<unknown>[] = [];

/** A bounded map whose entries belong to a fleet and go when it changes (oldest out first when full). */
export class FleetCache<V> {
  private entries = new Map<string, Entry<V>>();

  constructor(private readonly maxEntries: number) {
    caches.push(this as FleetCache<unknown>);
  }

  /**
   * The cached value of `key`, or `load()`'s (kept when it names its fleet and no change of that
   * fleet was heard since the lookup began). `load` returns null for "nothing": that is not kept.
   */
  async get(key: string, load: () => Promise<{ fleetId: string; value: V } | null>): Promise<V | null> {
    const hit = this.entries.get(key);
    if (hit) {
      if (this.fresh(hit)) return hit.value;
      this.entries.delete(key);
    }
    const lookedUpAt = clock.tick;
    const at = Date.now();
    const listening = isListening();
    // The first lookup of the process connects (in the background: this one goes to the database).
    if (!listening) void startListening();
    const loaded = await load();
    if (!loaded) return null;
    const entry = { fleetId: loaded.fleetId, lookedUpAt, at, value: loaded.value };
    if (listening && isListening() && this.fresh(entry)) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, entry);
    }
    return loaded.value;
  }

  private fresh(e: Entry<V>): boolean {
    return isListening() && Date.now() - e.at < MAX_AGE_MS && e.lookedUpAt >= clock.resetAt && (clock.changedAt.get(e.fleetId) ?? -1) <= e.lookedUpAt;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
