import type { Readable } from 'node:stream';
import { loadConfig } from '@edgetune/config';
import { FsStorage } from './fs';
import { parseS3Url, S3Storage } from './s3';
import { BrokeredStorage } from './brokered';

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
  modifiedAt: Date;
}

export interface PresignOptions {
  /** How long the URL stays valid. */
  expiresInSeconds: number;
  /** For GET: the file name a browser saves the download under. */
  filename?: string;
}

export interface ByteRange {
  /** Inclusive start. */
  start: number;
  /** Inclusive end. */
  end: number;
}

/**
 * The object store. Keys are `/`-separated relative paths (`orgs/<org>/files/<id>`); the Python
 * trainer maps them to the same layout, so both sides can share one store.
 */
export interface Storage {
  put(key: string, body: Readable | Buffer | string): Promise<ObjectInfo>;
  /** Stream an object, optionally a byte range of it. Throws StorageNotFound when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | null>;
  delete(key: string): Promise<void>;
  /** Remove every object under a prefix (used to roll back partial writes); how many there were. */
  deletePrefix(prefix: string): Promise<number>;
  list(prefix: string): Promise<ObjectInfo[]>;
  /** A local path for the object when the store is a filesystem (tools like llama-quantize need one). */
  localPath(key: string): string | null;
  /** A short-lived URL that reads the object without other credentials; null when the store cannot sign (the filesystem). */
  presignGet(key: string, opts: PresignOptions): Promise<string | null>;
  /** A short-lived URL that writes the object without other credentials; null when the store cannot sign. */
  presignPut(key: string, opts: PresignOptions): Promise<string | null>;
  /** Writes/reads a small probe object; used by /api/health. */
  probe(): Promise<void>;
  /** An upload in parts by presigned URLs, for objects over one PUT's limit (S3 stores only). */
  presignParts?(key: string, parts: number, opts: PresignOptions): Promise<PartsUpload>;
  /** Joins the parts sent to presignParts' URLs into the object. */
  completeParts?(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo>;
  abortParts?(key: string, uploadId: string): Promise<void>;
}

export interface PartsUpload {
  uploadId: string;
  /** The URL of part n + 1 at index n. */
  urls: string[];
}

export class StorageNotFound extends Error {
  constructor(readonly key: string) {
    super(`No object at ${key}`);
  }
}

export function assertKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '') || key.includes('\\') || key.includes('\0')) {
    throw new Error(`Invalid storage key: ${JSON.stringify(key)}`);
  }
}

export function createStorage(url?: string): Storage {
  const config = loadConfig();
  url ??= config.STORAGE_URL;
  if (url.startsWith('file://')) return new FsStorage(new URL(url).pathname);
  if (url.startsWith('s3://')) {
    // Credentials come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles).
    return new S3Storage(parseS3Url(url), {
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE ?? Boolean(config.S3_ENDPOINT),
      // The SDK's default adds a CRC32 of every part on top of SigV4's SHA-256 of the same bytes
      // (a sixth of the web server's CPU when it stores an upload); S3-compatible stores (versitygw,
      // MinIO, others) also refuse some of those headers. SigV4 still covers every byte sent.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }
  throw new Error(`STORAGE_URL must be a file:// or s3:// URL, got ${url}`);
}

let shared: Storage | null = null;
export function storage(): Storage {
  shared ??= createStorage();
  return shared;
}

/**
 * The store of a pool worker's activity: with PLATFORM_URL set (a platform pool on another
 * machine, holding no store keys) the job's objects through the platform with the activity's
 * storage grant; else the store of STORAGE_URL.
 */
export function activityStorage(grant: string | undefined): Storage {
  const platform = loadConfig().PLATFORM_URL;
  if (!platform) return storage();
  if (!grant) throw new Error('This worker reaches objects through the platform (PLATFORM_URL is set), but the activity carries no storage grant: the job was started before grants existed.');
  return new BrokeredStorage(platform, grant);
}

export { BrokeredStorage } from './brokered';
export { downloadToFile, HttpStatusError, openDownload, putWithLength } from './http-transfer';
export { FsStorage, S3Storage, parseS3Url };
