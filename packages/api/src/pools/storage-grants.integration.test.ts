/**
 * Storage grants: a platform pool's worker without store keys reads and writes a job's objects
 * through the platform (BrokeredStorage → POST /api/v1/storage/broker → presigned URL or the
 * platform's own route), on both stores, and nothing outside the grant, nor after the job ended.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { BrokeredStorage, FsStorage, HttpStatusError, type Storage } from '@edgetune/storage';
import { s3FromTestEnv } from '@edgetune/storage/testing';
import { startBrokerServer, type BrokerServer } from '../testing/broker-server';
import { newOrg, seedPublishedModel, seedTrainingFile, useDatabase } from '../testing/fixtures';
import { mintStorageGrant, storageGrantCaller } from './storage-grants';

const SECRET = randomBytes(32).toString('hex');

const backends: [string, () => Storage][] = [
  ['filesystem (the platform streams)', () => new FsStorage(mkdtempSync(path.join(tmpdir(), 'edgetune-grant-')))],
  ['S3 (presigned URLs)', () => s3FromTestEnv('grant-test')],
];

for (const [name, make] of backends) {
  describe(`storage grant: ${name}`, () => {
    const store = make();
    let server: BrokerServer;
    const grant = mintStorageGrant({ jobId: 'job_a', orgId: 'org_a', read: ['base-models/m', 'orgs/org_a/files/f1'], write: ['orgs/org_a/jobs/job_a'] }, SECRET);
    let worker: BrokeredStorage;
    before(async () => {
      server = await startBrokerServer(store, SECRET);
      worker = new BrokeredStorage(server.url, grant);
      await store.put('base-models/m/config.json', '{"model":true}');
      await store.put('orgs/org_a/files/f1', 'line one\n');
      await store.put('orgs/org_b/jobs/job_b/secret.txt', 'not yours');
    });
    after(() => server.close());

    test('reads what the grant covers; writes, lists and deletes below the job prefix', async () => {
      assert.equal(await text(await worker.get('base-models/m/config.json')), '{"model":true}');
      assert.equal((await worker.head('orgs/org_a/files/f1'))?.sizeBytes, 9);
      assert.equal(await worker.head('base-models/m/absent.json'), null);
      await worker.put('orgs/org_a/jobs/job_a/train/a.txt', 'alpha');
      await worker.put('orgs/org_a/jobs/job_a/train/b.bin', Readable.from([Buffer.from('be'), Buffer.from('ta')]));
      assert.equal(await text(await store.get('orgs/org_a/jobs/job_a/train/a.txt')), 'alpha');
      assert.equal(await text(await worker.get('orgs/org_a/jobs/job_a/train/b.bin')), 'beta');
      assert.deepEqual((await worker.list('orgs/org_a/jobs/job_a/train')).map((o) => [o.key, o.sizeBytes]), [
        ['orgs/org_a/jobs/job_a/train/a.txt', 5],
        ['orgs/org_a/jobs/job_a/train/b.bin', 4],
      ]);
      assert.equal(await worker.deletePrefix('orgs/org_a/jobs/job_a/train'), 2);
      assert.deepEqual(await store.list('orgs/org_a/jobs/job_a/train'), []);
    });

    test('a file goes up in one PUT, or in parts joined by the platform (S3), byte for byte', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'edgetune-grant-file-'));
      const file = path.join(dir, 'model.safetensors');
      const bytes = randomBytes(11 * 1024 * 1024 + 7);
      writeFileSync(file, bytes);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      await worker.putFile('orgs/org_a/jobs/job_a/one.bin', file);
      await worker.putFile('orgs/org_a/jobs/job_a/parts.bin', file, 5 * 1024 * 1024);
      // A stream of a whole file goes up from the file; a stream of part of one, as what it reads.
      await worker.put('orgs/org_a/jobs/job_a/stream.bin', createReadStream(file));
      await worker.put('orgs/org_a/jobs/job_a/range.bin', createReadStream(file, { start: 10, end: 1033 }));
      for (const key of ['orgs/org_a/jobs/job_a/one.bin', 'orgs/org_a/jobs/job_a/parts.bin', 'orgs/org_a/jobs/job_a/stream.bin']) {
        assert.equal(sha(await buffer(await store.get(key))), sha(bytes), key);
      }
      assert.ok((await buffer(await store.get('orgs/org_a/jobs/job_a/range.bin'))).equals(bytes.subarray(10, 1034)));
    });

    test("outside the grant nothing exists: another tenant's object, writes to what it may only read", async () => {
      const refused = async (p: Promise<unknown>, status: number) => {
        await assert.rejects(p, (e: unknown) => e instanceof HttpStatusError && e.status === status);
      };
      await refused(worker.get('orgs/org_b/jobs/job_b/secret.txt'), 404);
      await refused(worker.list('orgs/org_b'), 404);
      await refused(worker.put('orgs/org_b/jobs/job_b/secret.txt', 'overwritten'), 404);
      await refused(worker.put('base-models/m/config.json', '{}'), 404);
      await refused(worker.deletePrefix('orgs/org_a/files'), 404);
      // A prefix covers keys below it, not keys that merely start with the same letters.
      await refused(worker.get('orgs/org_a/files/f10'), 404);
      await refused(worker.put('orgs/org_a/jobs/job_a_other/x', 'x'), 404);
      // '..' never reaches the store.
      await assert.rejects(worker.get('orgs/org_a/jobs/job_a/../../org_b/jobs/job_b/secret.txt'), /Invalid storage key/);
      assert.equal(await text(await store.get('orgs/org_b/jobs/job_b/secret.txt')), 'not yours');
      assert.equal(await text(await store.get('base-models/m/config.json')), '{"model":true}');
    });

    test('a forged, altered or expired grant is refused with 401', async () => {
      const other = mintStorageGrant({ jobId: 'job_a', orgId: 'org_a', read: [''], write: [''] }, randomBytes(32).toString('hex'));
      const [head, mac] = grant.split('.');
      const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(head!.slice(4), 'base64url').toString()), read: ['orgs'] })).toString('base64url');
      const expired = mintStorageGrant({ jobId: 'job_a', orgId: 'org_a', read: ['base-models/m'], write: [], ttlSeconds: -1 }, SECRET);
      for (const [token, why] of [
        [other, /bad signature/],
        [`etg_${widened}.${mac}`, /bad signature/],
        [expired, /expired/],
        ['etp_not-a-grant', /not a storage grant/],
      ] as const) {
        await assert.rejects(new BrokeredStorage(server.url, token).head('base-models/m/config.json'), (e: unknown) => e instanceof HttpStatusError && e.status === 401 && why.test(e.message));
      }
    });
  });
}

describe('storage grant: the job', () => {
  useDatabase();

  test('a grant works while its job runs and is refused once the job has ended or for another organization', async () => {
    const { orgId, caller } = await newOrg('grant');
    const other = await newOrg('grant-other');
    const file = await seedTrainingFile(caller);
    const { jobId } = await seedPublishedModel(orgId, file.id);
    const grant = (org = orgId) => mintStorageGrant({ jobId, orgId: org, read: [`orgs/${orgId}/jobs/${jobId}`], write: [] });
    await assert.rejects(storageGrantCaller(grant()), /its job has ended \(succeeded\)/);
    await db().update(schema.jobs).set({ status: 'running', finishedAt: null }).where(eq(schema.jobs.id, jobId));
    assert.equal((await storageGrantCaller(grant())).jobId, jobId);
    await assert.rejects(storageGrantCaller(grant(other.orgId)), /its job does not exist/);
    await assert.rejects(storageGrantCaller(mintStorageGrant({ jobId: newId('job'), orgId, read: [], write: [] })), /its job does not exist/);
    await db().update(schema.jobs).set({ status: 'cancelled', finishedAt: new Date() }).where(eq(schema.jobs.id, jobId));
    await assert.rejects(storageGrantCaller(grant()), /its job has ended \(cancelled\)/);
  });

  test("through the web app: a grant of a running job reads the job's objects in the platform's store", async () => {
    const base = process.env.BASE_URL;
    assert.ok(base, 'BASE_URL names the test stack');
    const { orgId, caller } = await newOrg('grant-http');
    const file = await seedTrainingFile(caller);
    const { jobId } = await seedPublishedModel(orgId, file.id);
    await db().update(schema.jobs).set({ status: 'running', finishedAt: null }).where(eq(schema.jobs.id, jobId));
    const prefix = `orgs/${orgId}/jobs/${jobId}`;
    const worker = new BrokeredStorage(base, mintStorageGrant({ jobId, orgId, read: [], write: [prefix] }));
    await worker.put(`${prefix}/train/result.json`, '{"ok":true}');
    assert.equal(await text(await worker.get(`${prefix}/train/result.json`)), '{"ok":true}');
    await db().update(schema.jobs).set({ status: 'failed', finishedAt: new Date() }).where(eq(schema.jobs.id, jobId));
    await assert.rejects(worker.head(`${prefix}/train/result.json`), (e: unknown) => e instanceof HttpStatusError && e.status === 401 && /ended \(failed\)/.test(e.message));
  });
});
