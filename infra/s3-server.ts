/**
 * An S3-compatible object store for the local stack and the tests: versitygw over a folder
 * (its POSIX backend), with fresh root credentials on every start and one bucket. What the
 * platform and the workers need to use it is in `env` (STORAGE_URL, S3_ENDPOINT, AWS_*).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@edgetune/config';
import { ManagedProcess, waitFor } from './processes';

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** The variables that point a process at this server: STORAGE_URL=s3://bucket/prefix and the credentials. */
  env(prefix: string): Record<string, string>;
  /** The same server named for the storage tests (EDGETUNE_TEST_S3_*), which build their own clients. */
  testEnv(): Record<string, string>;
  /** The server's process (its process group's id), for benchmarks that count its CPU. */
  readonly pid: number | null;
  stop(): Promise<void>;
}

export async function startS3Server(opts: { dataDir: string; port: number; bucket: string; log: Logger; echo?: boolean; root: string }): Promise<S3Server> {
  const dir = path.join(opts.dataDir, 's3');
  mkdirSync(dir, { recursive: true });
  const accessKeyId = `edgetune${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const endpoint = `http://127.0.0.1:${opts.port}`;
  const proc = new ManagedProcess(
    {
      name: 's3',
      command: path.join(opts.root, '.tools', 'bin', 'versitygw'),
      // ETags from the CRC64NVME it computes of every byte anyway instead of an MD5 on top: MD5 was
      // a fifth of its CPU while it stored an upload (pprof, npm run bench:datasets -- --e2e), and no
      // client here reads an ETag as an MD5 (the AWS SDK and boto3 verify their own checksums).
      args: ['--port', `127.0.0.1:${opts.port}`, '--quiet', 'posix', '--data-integrity-etag', dir],
      cwd: opts.root,
      // Credentials by environment, never argv (visible to every user of the machine).
      env: { NODE_ENV: 'production', PATH: process.env.PATH, HOME: process.env.HOME, ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
      logDir: path.join(opts.dataDir, 'logs'),
      echo: opts.echo ?? false,
    },
    opts.log,
    (name, code) => opts.log.error({ process: name, code }, 'the S3 server exited'),
  );
  proc.start();
  // Whatever way this process ends, the server does not outlive it.
  process.once('exit', () => proc.kill());
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await waitFor('the S3 server', 60_000, async () => {
      if (!proc.running) throw new Error(`versitygw is not running; see ${proc.logFile}`);
      try {
        await client.send(new HeadBucketCommand({ Bucket: opts.bucket }));
      } catch (e) {
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw e;
        await client.send(new CreateBucketCommand({ Bucket: opts.bucket }));
      }
    });
  } catch (e) {
    await proc.stop();
    throw e;
  } finally {
    client.destroy();
  }
  opts.log.info({ component: 's3', endpoint, bucket: opts.bucket }, 'S3 server is up');
  return {
    endpoint,
    bucket: opts.bucket,
    env: (prefix) => ({
      STORAGE_URL: `s3://${opts.bucket}/${prefix}`,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    testEnv: () => ({
      EDGETUNE_TEST_S3_ENDPOINT: endpoint,
      EDGETUNE_TEST_S3_BUCKET: opts.bucket,
      EDGETUNE_TEST_S3_ACCESS_KEY_ID: accessKeyId,
      EDGETUNE_TEST_S3_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    get pid() {
      return proc.pid;
    },
    stop: () => proc.stop(),
  };
}
