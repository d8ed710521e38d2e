import { randomBytes } from 'node:crypto';
import { S3Storage } from './s3';

/** The S3 server of the test run (EDGETUNE_TEST_S3_* name it), under a fresh prefix `<tag>-<random>`. */
export function s3FromTestEnv(tag: string): S3Storage {
  const need = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set: the test run starts an S3 server and names it (npm test)`);
    return v;
  };
  return new S3Storage(
    { bucket: need('EDGETUNE_TEST_S3_BUCKET'), prefix: `${tag}-${randomBytes(4).toString('hex')}` },
    {
      endpoint: need('EDGETUNE_TEST_S3_ENDPOINT'),
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: need('EDGETUNE_TEST_S3_ACCESS_KEY_ID'), secretAccessKey: need('EDGETUNE_TEST_S3_SECRET_ACCESS_KEY') },
    },
  );
}
