import '../testing/env';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { DomainError } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { leftovers } from '../testing/datasets';
import { bytes, goodJsonl, goodLine, newOrg, useDatabase } from '../testing/fixtures';
import { deleteFile, fileContent, getFile, listFiles, uploadFile } from './files';

useDatabase();

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

test('upload stores the object and the row with sha256 and example count', async () => {
  const { caller, orgId } = await newOrg('files');
  const text = goodJsonl(7);
  const f = await uploadFile(caller, { filename: 'train.jsonl', purpose: 'fine-tune', body: bytes(text) });
  assert.match(f.id, /^file-/);
  assert.equal(f.examples, 7);
  assert.equal(f.bytes, Buffer.byteLength(text));
  assert.equal(f.sha256, createHash('sha256').update(text).digest('hex'));
  assert.equal(f.storageKey, `orgs/${orgId}/files/${f.id}.jsonl`);
  assert.equal((await storage().head(f.storageKey))?.sizeBytes, f.bytes);
  assert.equal((await getFile(caller, f.id)).id, f.id);
  assert.equal(await readAll((await fileContent(caller, f.id)).stream), text);
  const page = await listFiles(caller);
  assert.deepEqual(page.data.map((x) => x.id), [f.id]);
  await deleteFile(caller, f.id);
  assert.equal(await storage().head(f.storageKey), null);
  await assert.rejects(getFile(caller, f.id), (e: DomainError) => e.code === 'not_found');
});

test('a malformed file names the first bad line and leaves no row and no object', async () => {
  const { caller, orgId } = await newOrg('badfile');
  const text = [goodLine(1), goodLine(2), '{"messages": [{"role": "user", "content": "no answer"}]}', '{oops', goodLine(5)].join('\n');
  await assert.rejects(uploadFile(caller, { filename: 'bad.jsonl', purpose: 'fine-tune', body: bytes(text, 5) }), (e: DomainError) => {
    assert.equal(e.code, 'validation_failed');
    assert.match(e.message, /Line 3/);
    assert.equal(e.details[0].line, 3);
    assert.equal(e.details[1].line, 4);
    return true;
  });
  assert.equal((await db().select().from(schema.files).where(eq(schema.files.orgId, orgId))).length, 0);
  assert.deepEqual(await storage().list(`orgs/${orgId}`), []);
});

test('an empty file and a wrong purpose are rejected, leaving nothing behind', async () => {
  const { caller, orgId } = await newOrg('empty');
  await assert.rejects(uploadFile(caller, { filename: 'e.jsonl', purpose: 'fine-tune', body: bytes('\n\n') }), (e: DomainError) => e.code === 'validation_failed' && /no examples/.test(e.message));
  await assert.rejects(uploadFile(caller, { filename: 'e.jsonl', purpose: 'batch', body: bytes(goodJsonl(1)) }), (e: DomainError) => e.param === 'purpose');
  await assert.rejects(uploadFile(caller, { filename: 'e.jsonl', purpose: async () => 'assistants', body: bytes(goodJsonl(1)) }), (e: DomainError) => e.param === 'purpose');
  assert.equal((await db().select().from(schema.files).where(eq(schema.files.orgId, orgId))).length, 0);
  assert.deepEqual(await storage().list(`orgs/${orgId}`), []);
});

test('a viewer cannot upload', async () => {
  const { caller } = await newOrg('viewer');
  await assert.rejects(uploadFile({ ...caller, role: 'viewer' }, { filename: 'a.jsonl', purpose: 'fine-tune', body: bytes(goodJsonl(1)) }), (e: DomainError) => e.code === 'forbidden');
});

test('fields that come after the file: a purpose completes the upload, a column mapping re-validates the staged copy, a bad one names itself; no staged copy stays', async () => {
  const { caller, orgId } = await newOrg('late');
  // Only the purpose comes late (the official client's order).
  const text = goodJsonl(3);
  const same = await uploadFile(caller, { filename: 'late.jsonl', body: bytes(text, 4), purpose: null, lateFields: async () => ({ purpose: 'fine-tune' }) });
  assert.equal(same.examples, 3);
  assert.equal(await readAll((await fileContent(caller, same.id)).stream), text);
  assert.deepEqual((await leftovers(orgId)).staged, []);

  // A column mapping after the file changes how the bytes read: they are validated again from the staged copy.
  const csv = 'question,answer\nWhat is 2+2?,4\nCapital of France?,Paris\n';
  const mapped = await uploadFile(caller, {
    filename: 'qa.csv',
    body: bytes(csv, 3),
    purpose: null,
    lateFields: async () => ({ purpose: 'fine-tune', columns: { prompt: 'question', completion: 'answer' } }),
  });
  assert.equal(mapped.examples, 2);
  assert.equal(mapped.format, 'prompt_completion');
  assert.deepEqual((await leftovers(orgId)).staged, []);

  // A bad late field is the error, naming the field; nothing of the upload stays.
  const before = (await leftovers(orgId)).objects.length;
  await assert.rejects(
    uploadFile(caller, { filename: 'bad-late.jsonl', body: bytes(goodJsonl(2)), purpose: null, lateFields: async () => ({ purpose: 'fine-tune', format: 'alpaca' }) }),
    (e: DomainError) => e.param === 'format',
  );
  const left = await leftovers(orgId);
  assert.equal(left.objects.length, before);
  assert.equal(left.files.length, 2);
  assert.deepEqual(left.staged, []);
});
