import '../testing/env';
// Small enough that the decompression-bomb test stays quick; set before the config is first read.
process.env.MAX_DECOMPRESSED_BYTES = String(48 * 1024 * 1024);
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { TRPCError } from '@trpc/server';
import { eq } from 'drizzle-orm';
import { DomainError, newId } from '@edgetune/contracts';
import { db, schema } from '@edgetune/db';
import { storage } from '@edgetune/storage';
import { chatJsonl, chatLine, droppedAfter, leftovers, nothingLeft, zstdFrame } from '../testing/datasets';
import { bytes, newOrg, useDatabase } from '../testing/fixtures';
import { deleteDataset, estimateVersion, getDataset, listDatasets, previewVersion } from './datasets';
import { deleteFile, fileContent, getFile, listFiles, uploadVersion } from './files';
import { createJob } from '../jobs/jobs';
import { createCaller } from '../trpc/root';
import type { Caller } from '../tenant';
import { createTRPCContext } from '../trpc/procedures';
import { putChunk } from './uploads';

useDatabase();

async function readAll(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

const upload = (caller: Caller, filename: string, body: string | Buffer, extra: Record<string, unknown> = {}) =>
  uploadVersion(caller, { filename, purpose: 'fine-tune', body: (async function* () { yield Buffer.from(body); })(), ...extra });

async function seedJob(orgId: string, fileId: string, status: string, fineTunedModel: string | null = null): Promise<string> {
  const id = newId('job');
  await db()
    .insert(schema.jobs)
    .values({
      id,
      orgId,
      baseModel: 'lfm2-tiny',
      trainingFileId: fileId,
      hyperparameters: { method: 'full', n_epochs: 1 },
      targetDevices: ['x86_64-avx2'],
      seed: 1,
      status,
      workflowId: `fine-tune-${id}`,
      fineTunedModel,
    });
  return id;
}

test('versions are content-addressed: same bytes reuse the version, new bytes add the next one', async () => {
  const { caller, orgId } = await newOrg('versions');
  const v1 = await upload(caller, 'support.jsonl', chatJsonl(5), { dataset: 'Support chats' });
  assert.equal(v1.reused, false);
  assert.equal(v1.dataset.name, 'Support chats');
  assert.equal(v1.file.version, 1);
  assert.equal(v1.file.format, 'chat');
  assert.equal(v1.file.examples, 5);
  assert.equal(v1.file.sha256, createHash('sha256').update(chatJsonl(5)).digest('hex'));

  const again = await upload(caller, 'other-name.jsonl', chatJsonl(5), { dataset: 'support CHATS' });
  assert.equal(again.reused, true);
  assert.equal(again.file.id, v1.file.id);
  const v2 = await upload(caller, 'support.jsonl', chatJsonl(6), { dataset: 'Support chats' });
  assert.equal(v2.file.version, 2);
  assert.equal(v2.dataset.id, v1.dataset.id);

  // No dataset name: the file name without its extensions names the dataset.
  const gz = await upload(caller, 'faq.jsonl.gz', gzipSync(chatJsonl(3)));
  assert.equal(gz.dataset.name, 'faq');
  assert.equal(gz.file.version, 1);
  assert.equal(gz.file.bytes, gzipSync(chatJsonl(3)).length);
  assert.equal((gz.file.source as Record<string, unknown>).compression, 'gzip');
  assert.equal(await readAll((await fileContent(caller, gz.file.id)).stream), chatJsonl(3));

  const left = await leftovers(orgId);
  assert.equal(left.files.length, 3);
  assert.equal(left.objects.length, 3, 'a reused version stores no second object');
  assert.deepEqual(left.staged, []);

  // Two uploads of new bytes racing for the next version number both land, as 3 and 4.
  const [a, b] = await Promise.all([
    upload(caller, 's.jsonl', chatJsonl(7), { dataset: 'Support chats' }),
    upload(caller, 's.jsonl', chatJsonl(8), { dataset: 'Support chats' }),
  ]);
  assert.deepEqual([a.file.version, b.file.version].sort(), [3, 4]);
  // The same new bytes racing: one version, one object.
  const [c, d] = await Promise.all([
    upload(caller, 's.jsonl', chatJsonl(9), { dataset: 'Support chats' }),
    upload(caller, 's.jsonl', chatJsonl(9), { dataset: 'Support chats' }),
  ]);
  assert.equal(c.file.id, d.file.id);
  assert.equal((await leftovers(orgId)).objects.length, 6);

  const list = await listDatasets(caller);
  const support = list.data.find((x) => x.dataset.id === v1.dataset.id)!;
  assert.equal(support.versions, 5);
  assert.equal(support.latest?.version, 5);
});

test('prompt/completion is stored as chat; preference pairs train only with DPO, never mixed with chat', async () => {
  const { caller } = await newOrg('formats');
  const pc = Array.from({ length: 4 }, (_, i) => JSON.stringify({ prompt: `Translate ${i}`, completion: `Traduire ${i}` })).join('\n');
  const v = await upload(caller, 'pc.jsonl', pc);
  assert.equal(v.file.format, 'prompt_completion');
  const p = await previewVersion(caller, v.file.id, { limit: 2 });
  assert.deepEqual(p.records[0], { line: 1, record: { messages: [{ role: 'user', content: 'Translate 0' }, { role: 'assistant', content: 'Traduire 0' }] } });

  const pref = Array.from({ length: 3 }, (_, i) => JSON.stringify({ prompt: `Q${i}`, chosen: `good ${i}`, rejected: `bad ${i}` })).join('\n');
  const pv = await upload(caller, 'prefs.jsonl', pref);
  assert.equal(pv.file.format, 'preference');
  await assert.rejects(createJob(caller, { model: 'lfm2-tiny', training_file: pv.file.id, hyperparameters: { objective: 'sft' } }), (e: DomainError) => {
    assert.equal(e.code, 'invalid_request');
    assert.equal(e.param, 'hyperparameters.objective');
    assert.match(e.message, /holds preference pairs, which train with 'dpo'/);
    return true;
  });
  await assert.rejects(createJob(caller, { model: 'lfm2-tiny', training_file: v.file.id, validation_file: pv.file.id }), (e: DomainError) => e.param === 'validation_file');
});

test('lineage, preview, estimate, and deletion refused while a job runs', async () => {
  const { caller, orgId } = await newOrg('lineage');
  const other = await newOrg('lineage-other');
  const v1 = await upload(caller, 'd.jsonl', chatJsonl(30), { dataset: 'lineage' });
  const v2 = await upload(caller, 'd.jsonl', chatJsonl(31), { dataset: 'lineage' });
  const running = await seedJob(orgId, v1.file.id, 'running');

  const detail = await getDataset(caller, v1.dataset.id);
  assert.deepEqual(detail.versions.map((v) => v.file.version), [2, 1]);
  assert.deepEqual(detail.versions[1].usedBy.map((j) => [j.id, j.status]), [[running, 'running']]);
  assert.deepEqual(detail.versions[0].usedBy, []);

  const page = await previewVersion(caller, v1.file.id, { offset: 10, limit: 5 });
  assert.equal(page.total, 30);
  assert.deepEqual(page.records.map((r) => r.line), [11, 12, 13, 14, 15]);
  assert.deepEqual(page.records[0].record, JSON.parse(chatLine(10)));
  assert.deepEqual((await previewVersion(caller, v1.file.id, { offset: 30 })).records, []);

  const est = await estimateVersion(caller, v1.file.id, { baseModel: 'lfm2-tiny', epochs: 2 });
  assert.equal(typeof est.basis, 'string');
  await assert.rejects(estimateVersion(caller, v1.file.id, { baseModel: 'gpt-9', epochs: 2 }), (e: DomainError) => e.param === 'baseModel');

  await assert.rejects(deleteDataset(caller, v1.dataset.id), (e: DomainError) => {
    assert.equal(e.code, 'conflict');
    assert.match(e.message, new RegExp(running));
    assert.match(e.message, /running/);
    return true;
  });
  await assert.rejects(deleteFile(caller, v1.file.id), (e: DomainError) => e.code === 'conflict' && e.message.includes(running));
  // Another organization sees none of it.
  await assert.rejects(getDataset(other.caller, v1.dataset.id), (e: DomainError) => e.code === 'not_found');
  await assert.rejects(deleteDataset(other.caller, v1.dataset.id), (e: DomainError) => e.code === 'not_found');
  await assert.rejects(previewVersion(other.caller, v1.file.id), (e: DomainError) => e.code === 'not_found');
  assert.equal((await leftovers(orgId)).files.length, 2);

  // Finished: the version shows the model it produced, and the dataset may go.
  await db().update(schema.jobs).set({ status: 'succeeded', fineTunedModel: 'ft:lfm2-tiny:x:lineage:1' }).where(eq(schema.jobs.id, running));
  // The estimate's time comes from the throughput this organization's finished jobs measured.
  await db().update(schema.jobs).set({ result: { training: { steps: 10, final_loss: 1, tokens_per_second: 250, duration_s: 24, resumed_from_step: 0 } }, finishedAt: new Date() }).where(eq(schema.jobs.id, running));
  const report = v1.file.report!;
  const counted = { ...report, stats: { ...report.stats, tokens: { total: 6000, mean: 200, p50: 200, p95: 210, max: 220, histogram: [] }, tokenizer: { baseModel: 'lfm2-tiny', available: true } } };
  await db().update(schema.files).set({ report: counted }).where(eq(schema.files.id, v1.file.id));
  const timed = await estimateVersion(caller, v1.file.id, { baseModel: 'lfm2-tiny', epochs: 2 });
  assert.equal(timed.tokens, 12_000);
  assert.equal(timed.seconds, 48);
  // The test stack prices lfm2-tiny at 50,000 cents per million tokens (TRAINING_PRICES); the catalog's is 0.
  const price = Number(/lfm2-tiny=(\d+)/.exec(process.env.TRAINING_PRICES ?? '')?.[1] ?? 0);
  assert.equal(timed.costMinor, Math.ceil((12_000 / 1e6) * price));
  assert.match(timed.basis, /250 tokens\/s \(the median of 1 finished job of this organization\)/);
  assert.equal((await estimateVersion(other.caller, v1.file.id, { baseModel: 'lfm2-tiny', epochs: 2 }).catch((e: DomainError) => e.code)), 'not_found');

  const after = await getDataset(caller, v1.dataset.id);
  assert.equal(after.versions[1].usedBy[0].fineTunedModel, 'ft:lfm2-tiny:x:lineage:1');
  const r = await deleteDataset(caller, v1.dataset.id);
  assert.equal(r.versions, 2);
  await assert.rejects(getDataset(caller, v1.dataset.id), (e: DomainError) => e.code === 'not_found');
  await assert.rejects(getFile(caller, v1.file.id), (e: DomainError) => e.code === 'not_found');
  assert.deepEqual((await listFiles(caller)).data, []);
  assert.equal(await storage().head(v1.file.storageKey), null);
  assert.equal(await storage().head(v2.file.storageKey), null);
  // The finished job still names its training file; the row stays as a tombstone for that.
  const [job] = await db().select().from(schema.jobs).where(eq(schema.jobs.id, running));
  assert.equal(job.trainingFileId, v1.file.id);
  await assert.rejects(createJob(caller, { model: 'lfm2-tiny', training_file: v1.file.id }), (e: DomainError) => e.code === 'not_found');
});

test('every warning link of a stored report opens, in the preview, the record of the line or row it names', async () => {
  const { caller } = await newOrg('warning-links');
  type Link = { code: string; lines: number[]; records?: number[]; fileLines?: number[] };
  const linksOf = (report: unknown): Link[] => (report as { warnings: Link[] }).warnings;
  const previewed = async (fileId: string, record: number) => {
    const p = await previewVersion(caller, fileId, { offset: record - 1, limit: 1 });
    assert.equal(p.records[0].line, record);
    return p.records[0].record;
  };

  // JSONL: blank and whitespace-only lines between records; line 8 repeats line 1.
  const lines = [chatLine(0), '', chatLine(1), '  ', '', chatLine(2), '', chatLine(0), chatLine(3)];
  const j = await upload(caller, 'blank.jsonl', lines.join('\n') + '\n');
  assert.equal((j.file.report as { unit?: string }).unit, 'line');
  const jdup = linksOf(j.file.report).find((w) => w.code === 'duplicates');
  assert.deepEqual([jdup?.lines, jdup?.records], [[8], [4]]);
  assert.deepEqual(await previewed(j.file.id, jdup!.records![0]), JSON.parse(lines[7]));

  // CSV: a quoted cell over three lines and a blank line before the duplicate of row 1.
  const csv = 'question,answer\r\n"First question,\r\nover two lines",one\r\n"Second\nquestion\nover three",two\r\n\r\n"First question,\r\nover two lines",one\r\n';
  const c = await upload(caller, 'multi.csv', csv, { columns: { prompt: 'question', completion: 'answer' } });
  const cdup = linksOf(c.file.report).find((w) => w.code === 'duplicates');
  assert.deepEqual([cdup?.lines, cdup?.records, cdup?.fileLines], [[3], [3], [8]]);
  assert.equal(csv.split(/\r\n|\n/)[cdup!.fileLines![0] - 1], '"First question,', 'the row starts on the line named');
  const rec = (await previewed(c.file.id, cdup!.records![0])) as { messages: { content: string }[] };
  assert.deepEqual(rec.messages.map((m) => m.content), ['First question,\r\nover two lines', 'one']);
});

test('a deleted version number is never given to other bytes', async () => {
  const { caller, orgId } = await newOrg('renumber');
  const v1 = await upload(caller, 'r.jsonl', chatJsonl(2), { dataset: 'renumber' });
  const v2 = await upload(caller, 'r.jsonl', chatJsonl(3), { dataset: 'renumber' });
  await deleteFile(caller, v2.file.id);
  assert.equal(await storage().head(v2.file.storageKey), null);
  await assert.rejects(getFile(caller, v2.file.id), (e: DomainError) => e.code === 'not_found');
  const d = await getDataset(caller, v1.dataset.id);
  assert.deepEqual(d.versions.map((v) => v.file.version), [1]);
  assert.equal((await listDatasets(caller)).data[0].versions, 1);
  // The same bytes as the deleted version: a new version, stored again.
  const again = await upload(caller, 'r.jsonl', chatJsonl(3), { dataset: 'renumber' });
  assert.equal(again.reused, false);
  assert.equal(again.file.version, 3);
  assert.equal(await readAll((await fileContent(caller, again.file.id)).stream), chatJsonl(3));
  await deleteDataset(caller, v1.dataset.id);
  assert.deepEqual(await leftovers(orgId), nothingLeft);
});

test('deleting the last version of a dataset removes the dataset', async () => {
  const { caller, orgId } = await newOrg('lastversion');
  const v = await upload(caller, 'x.jsonl', chatJsonl(2));
  const w = await upload(caller, 'x.jsonl', chatJsonl(3));
  await deleteFile(caller, v.file.id);
  assert.equal((await leftovers(orgId)).datasets.length, 1);
  await deleteFile(caller, w.file.id);
  assert.deepEqual(await leftovers(orgId), nothingLeft);
});

/** Every bad input of the issue, through the upload path: a specific error and nothing left behind. */
test('bad input leaves no row, no object and no staged file', async () => {
  const { caller, orgId } = await newOrg('badinput');
  const expectFailure = async (name: string, run: () => Promise<unknown>, check: (e: DomainError) => void) => {
    await assert.rejects(run(), (e: DomainError) => {
      assert.ok(e instanceof Error, name);
      check(e);
      return true;
    }, name);
    assert.deepEqual(await leftovers(orgId), nothingLeft, name);
  };
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
  await expectFailure('binary garbage', () => upload(caller, 'g.jsonl', garbage), (e) => assert.equal(e.code, 'validation_failed'));

  const badUtf8 = Buffer.concat([Buffer.from(chatJsonl(3)), Buffer.from('{"messages":[{"role":"user","content":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}\n'), Buffer.from(chatJsonl(2))]);
  await expectFailure('invalid UTF-8 in the middle', () => upload(caller, 'u.jsonl', badUtf8), (e) => {
    assert.equal(e.code, 'validation_failed');
    assert.match(e.message, /UTF-8/);
    assert.equal(e.details[0]?.line, 4);
  });

  const hundredMb = 100 * 1024 * 1024;
  await expectFailure(
    'a single 100 MB line',
    () =>
      uploadVersion(caller, {
        filename: 'long.jsonl',
        purpose: 'fine-tune',
        body: (async function* () {
          yield Buffer.from('{"messages":[{"role":"user","content":"');
          const mb = Buffer.alloc(1024 * 1024, 'a');
          for (let i = 0; i < 100; i++) yield mb;
          yield Buffer.from('"},{"role":"assistant","content":"x"}]}');
        })(),
      }),
    (e) => {
      assert.equal(e.code, 'validation_failed');
      assert.equal(e.details[0]?.line, 1);
      assert.ok(hundredMb > 0);
    },
  );

  const gz = gzipSync(chatJsonl(200));
  await expectFailure('truncated gzip', () => upload(caller, 't.jsonl.gz', gz.subarray(0, Math.floor(gz.length / 2))), (e) => {
    assert.equal(e.code, 'validation_failed');
    assert.match(e.message, /truncated|unexpected end|cut off/i);
  });
  const zst = zstdFrame(Buffer.from(chatJsonl(200)));
  await expectFailure('truncated zstd', () => upload(caller, 't.jsonl.zst', zst.subarray(0, zst.length - 100)), (e) => assert.equal(e.code, 'validation_failed'));

  // 64 MB of newlines compress to ~64 KB: past MAX_DECOMPRESSED_BYTES (48 MB here).
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, '\n'), { level: 9 });
  assert.ok(bomb.length < 1024 * 1024);
  await expectFailure('decompression bomb', () => upload(caller, 'bomb.jsonl.gz', bomb), (e) => {
    assert.match(e.message, /decompress|expands|bomb/i);
  });

  await expectFailure('zero examples', () => upload(caller, 'empty.jsonl', '\n\n  \n'), (e) => {
    assert.equal(e.code, 'validation_failed');
    assert.match(e.message, /no examples/);
  });
  await expectFailure('an empty file', () => upload(caller, 'empty.jsonl', ''), (e) => assert.equal(e.code, 'validation_failed'));

  const csv = 'question,answer\nWhat is 1?,One\nWhat is 2?,Two\n';
  await expectFailure('a CSV with missing columns', () => upload(caller, 'qa.csv', csv, { format: 'prompt_completion', columns: { prompt: 'question', completion: 'reply' } }), (e) => {
    assert.equal(e.code, 'validation_failed');
    assert.match(e.message, /reply/);
  });
  await expectFailure('a CSV without the default columns', () => upload(caller, 'qa.csv', csv), (e) => assert.equal(e.code, 'validation_failed'));

  await expectFailure(
    'a body cut off before its Content-Length',
    () => uploadVersion(caller, { filename: 'cut.jsonl', purpose: 'fine-tune', body: bytes(chatJsonl(5)), declaredBytes: Buffer.byteLength(chatJsonl(5)) + 1000 }),
    (e) => {
      assert.equal(e.code, 'invalid_request');
      assert.match(e.message, /cut off/);
    },
  );
  await expectFailure('a dropped connection mid-upload', () => uploadVersion(caller, { filename: 'drop.jsonl', purpose: 'fine-tune', body: droppedAfter([Buffer.from(chatJsonl(50))]) }), (e) =>
    assert.match(e.message, /connection reset/),
  );
  await expectFailure('a declared size over the limit', () => uploadVersion(caller, { filename: 'big.jsonl', purpose: 'fine-tune', body: bytes('x'), declaredBytes: 64 * 1024 ** 4 }), (e) =>
    assert.equal(e.code, 'payload_too_large'),
  );
  await expectFailure('bad options', () => upload(caller, 'x.jsonl', chatJsonl(1), { format: 'alpaca' }), (e) => assert.equal(e.param, 'format'));
  await expectFailure('bad column mapping JSON', () => upload(caller, 'x.csv', csv, { columns: '{prompt:' }), (e) => assert.equal(e.param, 'columns'));
  await expectFailure('a wrong purpose', () => upload(caller, 'x.jsonl', chatJsonl(1), { purpose: 'batch' }), (e) => assert.equal(e.param, 'purpose'));
});

test('tRPC: datasets and uploads routers for the portal; uploads and deletions are audited', async () => {
  const { caller, userId, orgId } = await newOrg('trpc-datasets');
  const other = await newOrg('trpc-datasets-other');
  const trpc = createCaller(await createTRPCContext({ sessionUserId: userId, headers: new Headers() }));
  const otherTrpc = createCaller(await createTRPCContext({ sessionUserId: other.userId, headers: new Headers() }));
  const body = Buffer.from(chatJsonl(12));
  const u = await trpc.uploads.create({ filename: 'portal.jsonl', size: body.length, dataset: 'portal set' });
  assert.equal(u.offset, 0);
  await putChunk(caller, u.id, { contentRange: `bytes 0-${body.length - 1}/${body.length}`, body: bytes(body.toString()) });
  assert.equal((await trpc.uploads.status({ id: u.id })).offset, body.length);
  await assert.rejects(otherTrpc.uploads.status({ id: u.id }), (e: TRPCError) => e.code === 'NOT_FOUND');
  const done = await trpc.uploads.complete({ id: u.id });
  assert.equal(done.file.examples, 12);
  assert.equal(done.dataset.name, 'portal set');

  const list = await trpc.datasets.list({ limit: 10 });
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].latestVersion?.id, done.file.id);
  assert.equal(list.data[0].versions, 1);
  assert.deepEqual((await otherTrpc.datasets.list()).data, []);
  const ds = await trpc.datasets.get({ id: done.dataset.id });
  assert.equal(ds.versions[0].id, done.file.id);
  assert.deepEqual(ds.versions[0].usedBy, { jobs: [] });
  const preview = await trpc.datasets.preview({ fileId: done.file.id, offset: 11, limit: 5 });
  assert.deepEqual(preview.records.map((r) => r.line), [12]);
  assert.equal(preview.total, 12);
  assert.ok(await trpc.datasets.estimate({ fileId: done.file.id, baseModel: 'lfm2-tiny', epochs: 1 }));
  await assert.rejects(otherTrpc.datasets.get({ id: done.dataset.id }), (e: TRPCError) => e.code === 'NOT_FOUND');
  await assert.rejects(otherTrpc.datasets.delete({ id: done.dataset.id }), (e: TRPCError) => e.code === 'NOT_FOUND');

  const u2 = await trpc.uploads.create({ filename: 'x.jsonl', size: 10 });
  assert.equal((await trpc.uploads.abort({ id: u2.id })).status, 'aborted');
  await trpc.datasets.delete({ id: done.dataset.id });
  assert.deepEqual(await leftovers(orgId), nothingLeft);

  const audit = await db().select().from(schema.auditEvents).where(eq(schema.auditEvents.orgId, orgId));
  const uploaded = audit.find((a) => a.action === 'file.uploaded');
  assert.equal(uploaded?.targetId, done.file.id);
  assert.equal(uploaded?.actorUserId, userId);
  assert.equal((uploaded?.data as { dataset: string }).dataset, 'portal set');
  const deleted = audit.find((a) => a.action === 'dataset.deleted');
  assert.equal(deleted?.targetId, done.dataset.id);
});
