import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { threadId } from 'node:worker_threads';
import { DomainError } from '@edgetune/contracts';
import { ingestDataset, ingestStreamOffThread, stopDatasetThreads, type IngestResult } from './index';
import { STREAM_WINDOW_BYTES } from './ingest-threads';
import { clearTokenizerCache } from './tokens';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const trainerDir = path.join(repo, 'workers', 'trainer');
const root = mkdtempSync(path.join(os.tmpdir(), 'edgetune-threads-'));
const storeDir = path.join(root, 'objects');

before(() => {
  // Threads read their environment when they start, so the store is set before the first one.
  process.env.STORAGE_URL = `file://${storeDir}`;
  const tokDir = path.join(storeDir, 'base-models', 'lfm2-tiny');
  mkdirSync(tokDir, { recursive: true });
  execFileSync(path.join(trainerDir, '.venv', 'bin', 'python'), ['-c', 'import sys; from edgetune_trainer import tiny_model; tiny_model.write_tokenizer(sys.argv[1])', tokDir], { cwd: trainerDir });
  clearTokenizerCache();
});
after(async () => {
  await stopDatasetThreads();
  rmSync(root, { recursive: true, force: true });
});

const chatLine = (i: number): string =>
  JSON.stringify({ messages: [{ role: 'user', content: `Question ${i}: what is ${i} plus ${i}?` }, { role: 'assistant', content: `It is ${i + i}.` }] });

let n = 0;
function staged(content: string): { input: string; out: string } {
  const dir = path.join(root, `case-${++n}`);
  mkdirSync(dir);
  const input = path.join(dir, 'data.jsonl');
  writeFileSync(input, content);
  return { input, out: path.join(dir, 'normalized.jsonl') };
}

const opts = { filename: 'data.jsonl', maxDecompressedBytes: 1 << 30 };
/** What must match between the two ways of ingesting (timings differ). */
const comparable = (r: IngestResult) => {
  const { validation_ms: _v, tokenizer_ms: _t, ...stats } = r.stats as Record<string, unknown>;
  return { format: r.format, examples: r.examples, sha256: r.sha256, normalizedBytes: r.normalizedBytes, stats, source: r.source };
};

/** Collects what a streamed ingest writes, slowly when asked (a slow object store). */
function collector(delayMs = 0): { out: Writable; bytes: () => Buffer; length: () => number; destroyed: () => boolean } {
  const parts: Buffer[] = [];
  let length = 0;
  const out = new Writable({
    highWaterMark: 1 << 16,
    write(chunk: Buffer, _e, done) {
      parts.push(Buffer.from(chunk));
      length += chunk.length;
      if (delayMs) setTimeout(done, delayMs);
      else done();
    },
  });
  out.on('error', () => undefined);
  return { out, bytes: () => Buffer.concat(parts), length: () => length, destroyed: () => out.destroyed };
}

async function* chunksOf(content: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < content.length; i += size) yield content.subarray(i, i + size);
}

/** A staged file through a validation thread, its output collected. */
function offThread(input: string, o: typeof opts & { signal?: AbortSignal }, threads: number) {
  const c = collector();
  return { c, done: ingestStreamOffThread(createReadStream(input, { highWaterMark: 1 << 16 }), c.out, o, threads) };
}

test('a validation thread gives the result the caller would have computed, off the caller thread', async () => {
  const content = Array.from({ length: 300 }, (_, i) => chatLine(i)).join('\n') + '\n';
  const a = staged(content);
  const local = await ingestDataset(a.input, a.out, opts);
  const { c, done } = offThread(a.input, opts, 2);
  const threaded = await done;
  assert.notEqual(threaded.threadId, 0);
  assert.notEqual(threaded.threadId, threadId);
  assert.deepEqual(comparable(threaded), comparable(local));
  assert.ok(c.bytes().equals(readFileSync(a.out)));
});

test('a refused file comes back as the same DomainError, with its lines, and the output is destroyed', async () => {
  const content = [chatLine(1), '{"messages": [', chatLine(3), '{"prompt": 1}'].join('\n') + '\n';
  const a = staged(content);
  const local = await ingestDataset(a.input, a.out, opts).then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e as DomainError,
  );
  const { c, done } = offThread(a.input, opts, 2);
  await assert.rejects(done, (e: unknown) => {
    assert.ok(e instanceof DomainError, `a DomainError, got ${String(e)}`);
    assert.equal(e.code, 'validation_failed');
    assert.equal(e.message, local.message);
    assert.deepEqual(e.details, local.details);
    assert.ok(e.details.some((d) => d.line === 2));
    return true;
  });
  assert.ok(c.destroyed(), 'the output is destroyed');
});

test('several uploads validate at once on a bounded number of threads', async () => {
  const files = Array.from({ length: 5 }, (_, k) => staged(Array.from({ length: 50 + k }, (_, i) => chatLine(i)).join('\n') + '\n'));
  const results = await Promise.all(files.map((f) => offThread(f.input, opts, 2).done));
  assert.deepEqual(results.map((r) => r.examples), [50, 51, 52, 53, 54]);
  assert.ok(new Set(results.map((r) => r.threadId)).size <= 2, 'at most two threads');
});

test('0 threads validates on the caller thread', async () => {
  const f = staged(chatLine(1) + '\n');
  const r = await offThread(f.input, opts, 0).done;
  assert.equal(r.threadId, 0);
  assert.equal(r.examples, 1);
});

function bigFile(): { input: string; out: string } {
  // About 40 MB: validating it takes long enough to be interrupted.
  const block = Array.from({ length: 1000 }, (_, i) => chatLine(i)).join('\n') + '\n';
  return staged(block.repeat(Math.ceil((40 << 20) / block.length)));
}

test('aborting an upload stops its validation and destroys the output', async () => {
  const f = bigFile();
  const ac = new AbortController();
  const { c, done } = offThread(f.input, { ...opts, signal: ac.signal }, 2);
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(done);
  assert.ok(c.destroyed());
  // The thread survives an abort and keeps serving.
  const g = staged(chatLine(7) + '\n');
  assert.equal((await offThread(g.input, opts, 2).done).examples, 1);
});

test('a thread that dies fails its uploads with a clear error, destroys their output, and is replaced', async () => {
  const f = bigFile();
  const { c, done } = offThread(f.input, opts, 1);
  setTimeout(() => void stopDatasetThreads(), 50);
  await assert.rejects(done, /validation thread stopped.*not stored/);
  assert.ok(c.destroyed());
  const g = staged(chatLine(8) + '\n');
  assert.equal((await offThread(g.input, opts, 1).done).examples, 1);
});

test('a streamed ingest on a thread gives the same result and output as the file-to-file one, in chunks of any size', async () => {
  const content = Array.from({ length: 3000 }, (_, i) => chatLine(i)).join('\n') + '\n';
  const a = staged(content);
  const local = await ingestDataset(a.input, a.out, opts);
  for (const [name, input] of [
    ['chunks of 7777 bytes', chunksOf(Buffer.from(content), 7777)],
    ['chunks of 3 MB', chunksOf(Buffer.from(content), 3 << 20)],
  ] as const) {
    const c = collector();
    const r = await ingestStreamOffThread(input, c.out, opts, 2);
    assert.notEqual(r.threadId, 0, name);
    assert.deepEqual(comparable(r), comparable(local), name);
    assert.ok(c.bytes().equals(readFileSync(a.out)), `${name}: the same normalized bytes`);
  }
});

test('a streamed ingest holds a bounded window: a slow output slows the thread, and a big input arrives whole', async () => {
  const f = bigFile();
  const content = readFileSync(f.input);
  const c = collector(1);
  let maxAhead = 0;
  let sent = 0;
  async function* measured(): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunksOf(content, 1 << 16)) {
      sent += chunk.byteLength;
      maxAhead = Math.max(maxAhead, sent - c.length());
      yield chunk;
    }
  }
  const r = await ingestStreamOffThread(measured(), c.out, opts, 2);
  assert.equal(r.uploadedBytes, content.length);
  // The input may run ahead of the output by both windows (and the thread's own buffers), never by the whole file.
  assert.ok(maxAhead < 4 * STREAM_WINDOW_BYTES, `input ran ${maxAhead} bytes ahead of the output`);
  assert.ok(content.length > 4 * STREAM_WINDOW_BYTES);
});

test('a streamed ingest fails with the bad line, or with the input\'s own error, and destroys its output', async () => {
  const bad = Buffer.from([chatLine(1), '{"messages": [', chatLine(3)].join('\n') + '\n');
  const c = collector();
  await assert.rejects(ingestStreamOffThread(chunksOf(bad, 10), c.out, opts, 2), (e: unknown) => {
    assert.ok(e instanceof DomainError);
    assert.equal(e.code, 'validation_failed');
    assert.ok(e.details.some((d) => d.line === 2));
    return true;
  });
  assert.ok(c.destroyed());

  const d = collector();
  async function* dropped(): AsyncGenerator<Uint8Array> {
    yield Buffer.from(chatLine(1) + '\n' + chatLine(2).slice(0, 10));
    throw new Error('read ECONNRESET');
  }
  await assert.rejects(ingestStreamOffThread(dropped(), d.out, opts, 2), /ECONNRESET/);
  assert.ok(d.destroyed());
  // The thread keeps serving.
  const e = collector();
  assert.equal((await ingestStreamOffThread(chunksOf(Buffer.from(chatLine(9) + '\n'), 5), e.out, opts, 2)).examples, 1);
});

test('a thread that stores the output itself writes the same object the caller would have, and a failure names its cause', async () => {
  const content = Array.from({ length: 3000 }, (_, i) => chatLine(i)).join('\n') + '\n';
  const a = staged(content);
  const local = await ingestDataset(a.input, a.out, opts);
  for (const threads of [2, 0]) {
    const key = `stored/case-${threads}.jsonl`;
    const r = await ingestStreamOffThread(chunksOf(Buffer.from(content), 7777), { storeKey: key }, opts, threads);
    assert.equal(r.threadId === 0, threads === 0, `${threads} threads: validated on ${r.threadId === 0 ? 'the caller thread' : 'a thread'}`);
    assert.deepEqual(comparable(r), comparable(local));
    assert.ok(readFileSync(path.join(storeDir, key)).equals(readFileSync(a.out)), `${threads} threads: the stored object is the normalized output`);
  }
  // A bad line: the same DomainError as ever, with its line.
  const bad = Buffer.from(`${chatLine(1)}\n{"messages": 3}\n`);
  await assert.rejects(ingestStreamOffThread(chunksOf(bad, 5), { storeKey: 'stored/bad.jsonl' }, opts, 2), (e: unknown) => e instanceof DomainError && e.details[0]?.line === 2);
  // The store refuses the key: that is the error, not a validation one.
  await assert.rejects(ingestStreamOffThread(chunksOf(Buffer.from(content), 1 << 16), { storeKey: '../escape.jsonl' }, opts, 2), /Invalid storage key/);
});
