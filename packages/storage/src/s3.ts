import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertKey, StorageNotFound, type ByteRange, type ObjectInfo, type PartsUpload, type PresignOptions, type Storage } from './index';

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending without a slash). */
  prefix: string;
}

/** `s3://bucket/some/prefix` → bucket and prefix. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!)) throw new Error(`STORAGE_URL must be s3://<bucket>[/<prefix>] with a valid bucket name, got ${url}`);
  const prefix = m[2]!.replace(/\/+$/, '');
  if (prefix) assertKey(prefix);
  return { bucket: m[1]!, prefix };
}

/** Objects above this size go up in parts (several in flight), below it in one PUT. */
const PART_BYTES = 16 * 1024 * 1024;

/**
 * An S3-compatible object store through the official AWS SDK: multipart upload for large bodies,
 * ranged GETs, presigned GET/PUT URLs. Keys map to `<prefix>/<key>` in the bucket.
 */
export class S3Storage implements Storage {
  readonly client: S3Client;

  constructor(
    readonly location: S3Location,
    config: S3ClientConfig = {},
  ) {
    this.client = new S3Client(config);
    if (unsignedPayloadIsSafe(config.endpoint)) {
      // SigV4 signs a SHA-256 of every body by default: a second hash of every byte stored, on
      // the thread that validates uploads. Over TLS (or to this machine) the channel already
      // protects the bytes, so PUTs are signed with UNSIGNED-PAYLOAD, as the SDK's own presigned
      // URLs and streamed bodies are.
      this.client.middlewareStack.add(
        (next) => async (args) => {
          const req = args.request as { method?: string; headers?: Record<string, string> };
          if (req.method === 'PUT' && req.headers) req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          return next(args);
        },
        { step: 'build', name: 'edgetuneUnsignedPayload' },
      );
    }
  }

  private objectKey(key: string): string {
    assertKey(key);
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  private storeKey(objectKey: string): string {
    return this.location.prefix ? objectKey.slice(this.location.prefix.length + 1) : objectKey;
  }

  async put(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    const Key = this.objectKey(key);
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      const bytes = Buffer.from(body);
      await this.client.send(new PutObjectCommand({ Bucket: this.location.bucket, Key, Body: bytes, ContentLength: bytes.length }));
    } else {
      // lib-storage buffers a part at a time and sends one PUT when the body fits in one part.
      await new Upload({ client: this.client, params: { Bucket: this.location.bucket, Key, Body: body }, partSize: PART_BYTES, queueSize: 4, leavePartsOnError: false }).done();
    }
    const info = await this.head(key);
    if (!info) throw new Error(`The object store lost ${key} right after writing it`);
    return info;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      if (!out.Body) throw new StorageNotFound(key);
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw new StorageNotFound(key);
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }));
      return { key, sizeBytes: out.ContentLength ?? 0, modifiedAt: out.LastModified ?? new Date(0) };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000).map((o) => ({ Key: this.objectKey(o.key) }));
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Objects: batch, Quiet: true } }));
      if (out.Errors?.length) throw new Error(`Could not delete ${out.Errors.length} objects under ${prefix}: ${out.Errors[0]!.Message ?? out.Errors[0]!.Code}`);
    }
    return objects.length;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    assertKey(prefix);
    // A trailing slash keeps `a/b` from matching `a/bc/...`, as the filesystem's folders do.
    const Prefix = `${this.objectKey(prefix)}/`;
    const out: ObjectInfo[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix, ContinuationToken }));
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ key: this.storeKey(o.Key), sizeBytes: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) });
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  localPath(): null {
    return null;
  }

  presignGet(key: string, opts: PresignOptions): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.location.bucket,
        Key: this.objectKey(key),
        ResponseContentDisposition: opts.filename ? `attachment; filename*=UTF-8''${encodeURIComponent(opts.filename)}` : undefined,
      }),
      { expiresIn: opts.expiresInSeconds },
    );
  }

  presignPut(key: string, opts: PresignOptions): Promise<string> {
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.location.bucket, Key: this.objectKey(key) }), { expiresIn: opts.expiresInSeconds });
  }

  async presignParts(key: string, parts: number, opts: PresignOptions): Promise<PartsUpload> {
    const Key = this.objectKey(key);
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.location.bucket, Key }));
    if (!UploadId) throw new Error(`The object store started no upload for ${key}`);
    const urls = await Promise.all(
      Array.from({ length: parts }, (_, i) =>
        getSignedUrl(this.client, new UploadPartCommand({ Bucket: this.location.bucket, Key, UploadId, PartNumber: i + 1 }), { expiresIn: opts.expiresInSeconds }),
      ),
    );
    return { uploadId: UploadId, urls };
  }

  async completeParts(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.location.bucket,
        Key: this.objectKey(key),
        UploadId: uploadId,
        MultipartUpload: { Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
    const info = await this.head(key);
    if (!info) throw new Error(`The object store lost ${key} right after joining its parts`);
    return info;
  }

  async abortParts(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key: this.objectKey(key), UploadId: uploadId }));
  }

  async probe(): Promise<void> {
    const key = `_health/probe-${process.pid}`;
    await this.put(key, 'ok');
    await this.delete(key);
  }
}

/** HTTPS (AWS itself when no endpoint is set), or a store on this machine. */
function unsignedPayloadIsSafe(endpoint: S3ClientConfig['endpoint']): boolean {
  if (endpoint === undefined) return true;
  if (typeof endpoint !== 'string') return false;
  const u = new URL(endpoint);
  return u.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

function isNotFound(e: unknown): boolean {
  if (e instanceof S3ServiceException) return e.$metadata.httpStatusCode === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound';
  return false;
}
