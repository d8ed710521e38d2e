import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { FsStorage, StorageNotFound } from './index';

const root = mkdtempSync(path.join(tmpdir(), 'edgetune-storage-'));
const s = new FsStorage(root);

test('put, head, ranged get, list, delete', async () => {
  await s.put('orgs/o1/files/a.jsonl', '0123456789');
  assert.equal((await s.head('orgs/o1/files/a.jsonl'))?.sizeBytes, 10);
  assert.equal(await text(await s.get('orgs/o1/files/a.jsonl', { start: 2, end: 5 })), '2345');
  assert.deepEqual((await s.list('orgs/o1')).map((o) => o.key), ['orgs/o1/files/a.jsonl']);
  await s.delete('orgs/o1/files/a.jsonl');
  assert.equal(await s.head('orgs/o1/files/a.jsonl'), null);
  await assert.rejects(s.get('orgs/o1/files/a.jsonl'), StorageNotFound);
});

test('a failed write leaves no partial object or temp file behind', async () => {
  const failing = new Readable({
    read() {
      this.push('partial');
      this.destroy(new Error('connection dropped'));
    },
  });
  await assert.rejects(s.put('orgs/o2/x.bin', failing), /connection dropped/);
  assert.equal(await s.head('orgs/o2/x.bin'), null);
  assert.deepEqual(readdirSync(path.join(root, 'orgs/o2')), []);
});

test('refuses keys that escape the store', async () => {
  for (const k of ['../etc/passwd', '/abs', 'a//b', 'a/./b', '']) await assert.rejects(s.put(k, 'x'), /Invalid storage key/);
});
