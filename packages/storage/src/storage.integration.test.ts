/**
 * One contract, both backends: every case runs against the filesystem store and against the S3
 * server the test run started (versitygw; EDGETUNE_TEST_S3_* name it), through the same interface.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { FsStorage, StorageNotFound, type Storage } from './index';
import { s3FromTestEnv } from './testing';

const backends: [string, () => Storage][] = [
  ['filesystem', () => new FsStorage(mkdtempSync(path.join(tmpdir(), 'edgetune-storage-')))],
  ['S3', () => s3FromTestEnv('storage-test')],
];

/** A stream of `size` random bytes in 1 MiB chunks, and its sha256. */
function randomStream(size: number): { stream: Readable; sha256: string } {
  const chunks: Buffer[] = [];
  for (let left = size; left > 0; left -= 1024 * 1024) chunks.push(randomBytes(Math.min(left, 1024 * 1024)));
  const sha256 = createHash('sha256');
  for (const c of chunks) sha256.update(c);
  return { stream: Readable.from(chunks), sha256: sha256.digest('hex') };
}

for (const [name, make] of backends) {
  describe(`storage: ${name}`, () => {
    const s = make();

    test('put, head, ranged get, list, delete', async () => {
      await s.put('orgs/o1/files/a.jsonl', '0123456789');
      assert.equal((await s.head('orgs/o1/files/a.jsonl'))?.sizeBytes, 10);
      assert.equal(await text(await s.get('orgs/o1/files/a.jsonl', { start: 2, end: 5 })), '2345');
      assert.equal(await text(await s.get('orgs/o1/files/a.jsonl')), '0123456789');
      assert.deepEqual((await s.list('orgs/o1')).map((o) => o.key), ['orgs/o1/files/a.jsonl']);
      await s.delete('orgs/o1/files/a.jsonl');
      assert.equal(await s.head('orgs/o1/files/a.jsonl'), null);
      await assert.rejects(s.get('orgs/o1/files/a.jsonl'), StorageNotFound);
      await s.delete('orgs/o1/files/a.jsonl'); // deleting what is gone is not an error
    });

    test('a prefix is a folder: a/b does not list a/bc', async () => {
      await s.put('p/a/b/x', '1');
      await s.put('p/a/bc/y', '2');
      assert.deepEqual((await s.list('p/a/b')).map((o) => o.key), ['p/a/b/x']);
      assert.deepEqual((await s.list('p/none')).map((o) => o.key), []);
      await s.deletePrefix('p/a/b');
      assert.deepEqual((await s.list('p/a')).map((o) => o.key), ['p/a/bc/y']);
    });

    test('a large streamed object arrives whole (multipart on S3)', async () => {
      const size = 40 * 1024 * 1024 + 12345;
      const { stream, sha256 } = randomStream(size);
      const info = await s.put('big/model.gguf', stream);
      assert.equal(info.sizeBytes, size);
      const back = await buffer(await s.get('big/model.gguf'));
      assert.equal(back.length, size);
      assert.equal(createHash('sha256').update(back).digest('hex'), sha256);
      const tail = await buffer(await s.get('big/model.gguf', { start: size - 10, end: size - 1 }));
      assert.deepEqual(tail, back.subarray(size - 10));
    });

    test('a failed write leaves no object behind', async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(64 * 1024, 1));
          this.destroy(new Error('connection dropped'));
        },
      });
      await assert.rejects(s.put('orgs/o2/x.bin', failing), /connection dropped/);
      assert.equal(await s.head('orgs/o2/x.bin'), null);
      assert.deepEqual(await s.list('orgs/o2'), []);
    });

    test('refuses keys that escape the store', async () => {
      for (const k of ['../etc/passwd', '/abs', 'a//b', 'a/./b', '']) await assert.rejects(s.put(k, 'x'), /Invalid storage key/);
    });

    test('listing and deleting more than one page of objects', async () => {
      const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => s.put(k, k)));
      assert.deepEqual((await s.list('many')).map((o) => o.key), keys);
      await s.deletePrefix('many');
      assert.deepEqual(await s.list('many'), []);
    });

    test('probe', async () => {
      await s.probe();
    });
  });
}

describe('presigned URLs', () => {
  test('S3: a presigned GET reads the object (whole and by Range), a presigned PUT writes one, both without credentials', async () => {
    const s = s3FromTestEnv('storage-test');
    await s.put('signed/a.txt', 'hello presigned world');
    const get = await s.presignGet('signed/a.txt', { expiresInSeconds: 60, filename: 'résumé.txt' });
    const whole = await fetch(get);
    assert.equal(whole.status, 200);
    assert.equal(await whole.text(), 'hello presigned world');
    const part = await fetch(get, { headers: { Range: 'bytes=6-14' } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), 'presigned');

    const put = await s.presignPut('signed/b.txt', { expiresInSeconds: 60 });
    assert.equal((await fetch(put, { method: 'PUT', body: 'uploaded by URL' })).status, 200);
    assert.equal(await text(await s.get('signed/b.txt')), 'uploaded by URL');

    // A tampered signature is refused by the server.
    const forged = new URL(get);
    forged.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    assert.equal((await fetch(forged)).status, 403);
  });

  test('filesystem: cannot sign, callers stream through the platform', async () => {
    const s = new FsStorage(mkdtempSync(path.join(tmpdir(), 'edgetune-storage-')));
    await s.put('a', 'x');
    assert.equal(await s.presignGet('a', { expiresInSeconds: 60 }), null);
    assert.equal(await s.presignPut('a', { expiresInSeconds: 60 }), null);
    assert.ok(readdirSync(s.root).includes('a'));
  });
});
