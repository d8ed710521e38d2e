/**
 * A fleet's TUF repository: its keys and roots, and the signed targets / snapshot / timestamp of
 * each release, all built and checked with `@tufjs/models` (no TUF format code of our own).
 *
 * Versions only ever rise for any one device: a device is served the newest release of its
 * channel that covers its rollout bucket, and a release's percentage only grows, so the release
 * a device sees only moves forward. Targets and snapshot carry the release's number in its
 * channel; the timestamp is re-signed every hour and carries (hour × 2^20 + release number), which
 * rises both with time and when the device moves to a newer release. Ed25519 signatures are
 * deterministic, so every web server signs the same bytes for the same hour.
 */
import { createHash } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema, type Db } from '@edgetune/db';
import { isUniqueViolation } from '../identity/accounts';
import { keyVault } from './key-vault';

export const SPEC_VERSION = '1.0.31';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A root is trusted this long; rotating the root extends it. */
export const ROOT_LIFETIME_MS = 5 * 365 * DAY_MS;
/** A release's targets and snapshot stay valid this long (a newer release replaces them). */
export const RELEASE_LIFETIME_MS = 365 * DAY_MS;
/** A timestamp older than this is refused by devices: the most a freeze attack can hold one back. */
export const TIMESTAMP_LIFETIME_MS = DAY_MS;
const TIMESTAMP_VERSION_STRIDE = 2 ** 20;

type TufRole = schema.TufRole;
type KeyRow = typeof schema.fleetTufKeys.$inferSelect;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function tufKey(publicHex: string): Key {
  const body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
  // TUF's key id: the sha256 of the key's canonical JSON.
  const keyID = createHash('sha256').update(canonicalize(body)).digest('hex');
  return new Key({ keyID, keyType: body.keytype, scheme: body.scheme, keyVal: body.keyval });
}

async function signWith(md: Metadata<Root | Targets | Snapshot | Timestamp>, keys: Pick<KeyRow, 'keyId' | 'privateRef'>[]): Promise<string> {
  const payload = Buffer.from(canonicalize(md.signed.toJSON()));
  for (const k of keys) {
    const sig = new Signature({ keyID: k.keyId, sig: (await keyVault().sign(k.privateRef, payload)).toString('hex') });
    md.sign(() => sig, true);
  }
  return JSON.stringify(md.toJSON());
}

async function newKey(tx: Tx, fleet: { id: string; orgId: string }, role: TufRole): Promise<KeyRow> {
  const g = await keyVault().generate();
  const [row] = await tx
    .insert(schema.fleetTufKeys)
    .values({ keyId: tufKey(g.publicHex).keyID, orgId: fleet.orgId, fleetId: fleet.id, role, publicHex: g.publicHex, privateRef: g.privateRef })
    .returning();
  return row;
}

async function activeKeys(database: Db | Tx, fleetId: string): Promise<Record<TufRole, KeyRow>> {
  const rows = await database.select().from(schema.fleetTufKeys).where(and(eq(schema.fleetTufKeys.fleetId, fleetId), isNull(schema.fleetTufKeys.retiredAt)));
  const out = {} as Record<TufRole, KeyRow>;
  for (const r of rows) out[r.role] = r;
  return out;
}

function rootOf(keys: Record<TufRole, KeyRow>, version: number, now: number): Metadata<Root> {
  const root = new Root({ version, specVersion: SPEC_VERSION, expires: isoSeconds(now + ROOT_LIFETIME_MS), consistentSnapshot: true });
  for (const role of schema.tufRoles) root.addKey(tufKey(keys[role].publicHex), role);
  return new Metadata(root);
}

/** The fleet's newest root, creating the fleet's keys and root 1 the first time. */
export async function ensureRepository(fleet: { id: string; orgId: string }): Promise<{ version: number }> {
  const [latest] = await db().select({ version: schema.fleetTufRoots.version }).from(schema.fleetTufRoots).where(eq(schema.fleetTufRoots.fleetId, fleet.id)).orderBy(desc(schema.fleetTufRoots.version)).limit(1);
  if (latest) return latest;
  try {
    await db().transaction(async (tx) => {
      const keys = {} as Record<TufRole, KeyRow>;
      for (const role of schema.tufRoles) keys[role] = await newKey(tx, fleet, role);
      const body = await signWith(rootOf(keys, 1, Date.now()), [keys.root]);
      await tx.insert(schema.fleetTufRoots).values({ fleetId: fleet.id, orgId: fleet.orgId, version: 1, body });
    });
  } catch (e) {
    // Two first requests raced: the other one's root 1 (and keys) won; ours rolled back.
    const [again] = await db().select({ version: schema.fleetTufRoots.version }).from(schema.fleetTufRoots).where(eq(schema.fleetTufRoots.fleetId, fleet.id)).limit(1);
    if (!again) throw e;
  }
  return { version: 1 };
}

/**
 * A new root key: root N+1 lists it instead of the old one and is signed by both, so a device
 * that trusts root N accepts N+1 and, from then on, only what the new key signs.
 */
export async function rotateRootKey(fleet: { id: string; orgId: string }): Promise<{ version: number; keyId: string }> {
  const { version } = await ensureRepository(fleet);
  return rotation(fleet, version).catch((e: unknown) => {
    if (isUniqueViolation(e, 'fleet_tuf_roots_fleet_id_version_pk')) throw new DomainError('conflict', 'The root key of this fleet is being rotated by another request; try again.');
    throw e;
  });
}

function rotation(fleet: { id: string; orgId: string }, version: number): Promise<{ version: number; keyId: string }> {
  return db().transaction(async (tx) => {
    const keys = await activeKeys(tx, fleet.id);
    const old = keys.root;
    const fresh = await newKey(tx, fleet, 'root');
    await tx.update(schema.fleetTufKeys).set({ retiredAt: new Date() }).where(eq(schema.fleetTufKeys.keyId, old.keyId));
    const next = version + 1;
    const body = await signWith(rootOf({ ...keys, root: fresh }, next, Date.now()), [old, fresh]);
    // The primary key (fleet, version) refuses a concurrent rotation, which rolls this one back.
    await tx.insert(schema.fleetTufRoots).values({ fleetId: fleet.id, orgId: fleet.orgId, version: next, body });
    return { version: next, keyId: fresh.keyId };
  });
}

export async function rootBody(fleetId: string, version: number): Promise<string | null> {
  const [row] = await db()
    .select({ body: schema.fleetTufRoots.body })
    .from(schema.fleetTufRoots)
    .where(and(eq(schema.fleetTufRoots.fleetId, fleetId), eq(schema.fleetTufRoots.version, version)))
    .limit(1);
  return row?.body ?? null;
}

/** The path a device of `profile` looks its model up by, in every release. */
export const targetPath = (profile: string) => `${profile}/model.gguf`;

export interface ReleaseTarget {
  profile: string;
  sha256: string;
  sizeBytes: number;
  /** Carried in the target's `custom` field: what the file is and how it measured. */
  custom: Record<string, unknown>;
}

/**
 * A value TUF's canonical JSON can sign: it has integers only, so other numbers travel as decimal
 * strings (a device reads `"decode_tokens_per_second": "41.7"`).
 */
export function canonicalSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : String(value);
  if (Array.isArray(value)) return value.map(canonicalSafe);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, canonicalSafe(v)]));
  return value;
}

/** The signed targets and snapshot of a release numbered `seq` in its channel. */
export async function signRelease(fleet: { id: string; orgId: string }, seq: number, targets: ReleaseTarget[], now = Date.now()): Promise<{ targetsBody: string; snapshotBody: string }> {
  await ensureRepository(fleet);
  const keys = await activeKeys(db(), fleet.id);
  const expires = isoSeconds(now + RELEASE_LIFETIME_MS);
  const t = new Targets({ version: seq, specVersion: SPEC_VERSION, expires });
  for (const x of targets) {
    t.addTarget(new TargetFile({ path: targetPath(x.profile), length: x.sizeBytes, hashes: { sha256: x.sha256 }, unrecognizedFields: { custom: canonicalSafe(x.custom) as never } }));
  }
  const targetsBody = await signWith(new Metadata(t), [keys.targets]);
  const snapshot = new Snapshot({ version: seq, specVersion: SPEC_VERSION, expires, meta: { 'targets.json': new MetaFile({ version: seq }) } });
  const snapshotBody = await signWith(new Metadata(snapshot), [keys.snapshot]);
  return { targetsBody, snapshotBody };
}

export interface SignedTimestamp {
  body: string;
  etag: string;
  version: number;
}

const timestampCache = new Map<string, Promise<SignedTimestamp>>();
const TIMESTAMP_CACHE_ENTRIES = 4096;

/** The timestamp of a release for the hour of `now` (cached: every device of the release shares it). */
export function timestampFor(release: { id: string; fleetId: string; seq: number; snapshotBody: string }, now = Date.now()): Promise<SignedTimestamp> {
  const hour = Math.floor(now / HOUR_MS);
  const cacheKey = `${release.id}:${hour}`;
  let hit = timestampCache.get(cacheKey);
  if (!hit) {
    hit = signTimestamp(release, hour);
    hit.catch(() => timestampCache.delete(cacheKey));
    if (timestampCache.size >= TIMESTAMP_CACHE_ENTRIES) timestampCache.delete(timestampCache.keys().next().value!);
    timestampCache.set(cacheKey, hit);
  }
  return hit;
}

async function signTimestamp(release: { fleetId: string; seq: number; snapshotBody: string }, hour: number): Promise<SignedTimestamp> {
  const keys = await activeKeys(db(), release.fleetId);
  const snapshot = Buffer.from(release.snapshotBody);
  const version = hour * TIMESTAMP_VERSION_STRIDE + release.seq;
  const ts = new Timestamp({
    version,
    specVersion: SPEC_VERSION,
    expires: isoSeconds(hour * HOUR_MS + TIMESTAMP_LIFETIME_MS),
    snapshotMeta: new MetaFile({ version: release.seq, length: snapshot.length, hashes: { sha256: createHash('sha256').update(snapshot).digest('hex') } }),
  });
  const body = await signWith(new Metadata(ts), [keys.timestamp]);
  return { body, version, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}
