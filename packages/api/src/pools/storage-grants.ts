/**
 * Storage grants: how a platform pool's worker (the trainer, a device agent on another machine)
 * reaches the object store without holding its keys. The orchestrator mints one grant per job
 * (an HMAC-signed token naming the key prefixes the job may read and write, and an expiry); the
 * grant travels in each activity's input. With it, the worker asks the platform for a short-lived
 * presigned URL per object (or, on a filesystem store, the platform's own route), for a listing,
 * or to delete what it wrote. A grant stops working when its job has ended.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { authSecret } from '@edgetune/config';
import { DomainError, storageBrokerSchema, terminalStatuses, type JobStatus, type StorageBrokerResponse } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage, StorageNotFound, type Storage } from '@edgetune/storage';
import { parseInput } from '../errors';

const PREFIX = 'etg_';
/** Longer than any job's stages together; the job's end revokes it sooner. */
const GRANT_SECONDS = 14 * 24 * 3600;
/** A presigned URL only has to be valid when its transfer starts. */
const URL_SECONDS = 3600;
/** Objects up to this size go up in one PUT; larger ones in parts (S3 allows 5 GiB per PUT). */
const ONE_PUT_BYTES = 512 * 1024 ** 2;
const DEFAULT_PART_BYTES = 64 * 1024 ** 2;
const MAX_TOKEN_CHARS = 8192;

export interface StorageGrant {
  jobId: string;
  orgId: string;
  /** Keys or prefixes the holder may read (a prefix covers every key below it). */
  read: string[];
  /** Keys or prefixes the holder may write and delete. */
  write: string[];
  /** Unix seconds. */
  expiresAt: number;
}

function grantKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'edgetune storage grant v1', 32));
}

function mac(payload: string, secret: string): Buffer {
  return createHmac('sha256', grantKey(secret)).update(payload).digest();
}

/** A grant for one job's objects. Runs where the platform's secret is (the orchestrator). */
export function mintStorageGrant(g: Omit<StorageGrant, 'expiresAt'> & { ttlSeconds?: number }, secret = authSecret()): string {
  const body: StorageGrant = { jobId: g.jobId, orgId: g.orgId, read: g.read, write: g.write, expiresAt: Math.floor(Date.now() / 1000) + (g.ttlSeconds ?? GRANT_SECONDS) };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${PREFIX}${payload}.${mac(payload, secret).toString('base64url')}`;
}

const unauthenticated = (why: string) => new DomainError('unauthenticated', `Storage grant refused: ${why}.`);

/** The grant a token carries, its signature and expiry checked (not yet its job). */
export function readStorageGrant(token: string | null, secret = authSecret(), now = Date.now()): StorageGrant {
  if (!token) throw unauthenticated('none was sent (Authorization: Bearer etg_…)');
  if (token.length > MAX_TOKEN_CHARS || !token.startsWith(PREFIX)) throw unauthenticated('not a storage grant');
  const dot = token.indexOf('.', PREFIX.length);
  if (dot < 0) throw unauthenticated('malformed');
  const payload = token.slice(PREFIX.length, dot);
  const sent = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(payload, secret);
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) throw unauthenticated('bad signature');
  const g = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as StorageGrant;
  if (!(g.expiresAt * 1000 > now)) throw unauthenticated('expired');
  return g;
}

/** The grant of a request, refused once its job has ended (or is gone). */
export async function storageGrantCaller(token: string | null): Promise<StorageGrant> {
  const g = readStorageGrant(token);
  const [job] = await db().select({ status: schema.jobs.status, orgId: schema.jobs.orgId }).from(schema.jobs).where(eq(schema.jobs.id, g.jobId)).limit(1);
  if (!job || job.orgId !== g.orgId) throw unauthenticated('its job does not exist');
  if (terminalStatuses.includes(job.status as JobStatus)) throw unauthenticated(`its job has ended (${job.status})`);
  return g;
}

const covers = (scopes: string[], key: string) => scopes.some((s) => key === s || key.startsWith(`${s.replace(/\/+$/, '')}/`));

function allowed(g: StorageGrant, key: string, mode: 'read' | 'write'): void {
  // Writing implies reading back what one wrote (a resumed run lists its own checkpoints).
  const ok = mode === 'read' ? covers(g.read, key) || covers(g.write, key) : covers(g.write, key);
  // Another tenant's object, or one outside the job, does not exist for this grant.
  if (!ok) throw new DomainError('not_found', `No object '${key}' is within this job's storage grant (${mode}).`, { param: 'key' });
}

function platformUrl(key: string): string {
  return `/api/v1/storage/objects?key=${encodeURIComponent(key)}`;
}

/** One request of the broker protocol (contracts' storageBrokerSchema). */
export async function brokerStorage(g: StorageGrant, body: unknown, store: Storage = storage()): Promise<StorageBrokerResponse> {
  const r = parseInput(storageBrokerSchema, body);
  switch (r.op) {
    case 'head':
    case 'get': {
      allowed(g, r.key, 'read');
      const info = await store.head(r.key);
      if (!info) throw new DomainError('not_found', `No object at '${r.key}'.`, { param: 'key' });
      if (r.op === 'head') return { key: r.key, size_bytes: info.sizeBytes };
      const url = await store.presignGet(r.key, { expiresInSeconds: URL_SECONDS });
      return { key: r.key, size_bytes: info.sizeBytes, url: url ?? platformUrl(r.key), platform: url === null };
    }
    case 'put': {
      allowed(g, r.key, 'write');
      const partBytes = r.part_bytes ?? (r.size_bytes > ONE_PUT_BYTES ? DEFAULT_PART_BYTES : null);
      if (partBytes !== null && store.presignParts) {
        const parts = Math.max(1, Math.ceil(r.size_bytes / partBytes));
        if (parts > 10_000) throw new DomainError('validation_failed', `${r.size_bytes} bytes in parts of ${partBytes} would take ${parts} parts; the most is 10000.`, { param: 'part_bytes' });
        const up = await store.presignParts(r.key, parts, { expiresInSeconds: URL_SECONDS });
        return { key: r.key, upload_id: up.uploadId, part_bytes: partBytes, urls: up.urls };
      }
      const url = await store.presignPut(r.key, { expiresInSeconds: URL_SECONDS });
      return { key: r.key, url: url ?? platformUrl(r.key), platform: url === null };
    }
    case 'complete': {
      allowed(g, r.key, 'write');
      if (!store.completeParts) throw new DomainError('invalid_request', 'This object store takes no uploads in parts.');
      const info = await store.completeParts(
        r.key,
        r.upload_id,
        r.parts.map((p) => ({ partNumber: p.part_number, etag: p.etag })),
      );
      return { key: r.key, size_bytes: info.sizeBytes };
    }
    case 'abort': {
      allowed(g, r.key, 'write');
      // A filesystem store takes no parts (no abortParts): it has nothing to drop, and answers aborted all the same.
      await store.abortParts?.(r.key, r.upload_id);
      return { aborted: true };
    }
    case 'list': {
      allowed(g, r.prefix, 'read');
      return { objects: (await store.list(r.prefix)).map((o) => ({ key: o.key, size_bytes: o.sizeBytes })) };
    }
    case 'delete_prefix': {
      allowed(g, r.prefix, 'write');
      return { deleted: await store.deletePrefix(r.prefix) };
    }
  }
}

/** The platform's own route for an object, when the store cannot presign (a filesystem). */
export async function readGrantedObject(g: StorageGrant, key: string | null, store: Storage = storage()): Promise<{ stream: Readable; size: number }> {
  if (!key) throw new DomainError('invalid_request', 'The query parameter key is required.', { param: 'key' });
  allowed(g, key, 'read');
  const info = await store.head(key);
  if (!info) throw new DomainError('not_found', `No object at '${key}'.`, { param: 'key' });
  try {
    return { stream: await store.get(key), size: info.sizeBytes };
  } catch (e) {
    if (e instanceof StorageNotFound) throw new DomainError('not_found', `No object at '${key}'.`, { param: 'key' });
    throw e;
  }
}

export async function writeGrantedObject(g: StorageGrant, key: string | null, body: Readable, store: Storage = storage()): Promise<{ key: string; size_bytes: number }> {
  if (!key) throw new DomainError('invalid_request', 'The query parameter key is required.', { param: 'key' });
  allowed(g, key, 'write');
  const info = await store.put(key, body);
  return { key, size_bytes: info.sizeBytes };
}
