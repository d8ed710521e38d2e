import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { DomainError } from '@edgetune/contracts';
import { ingestDataset, ingestOffThread, stopDatasetThreads, type IngestResult } from './index';
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

test('a validation thread gives the result the caller would have computed, off the caller thread', async () => {
  const content = Array.from({ length: 300 }, (_, i) => chatLine(i)).join('\n') + '\n';
  const a = staged(content);
  const b = staged(content);
  const local = await ingestDataset(a.input, a.out, opts);
  const threaded = await ingestOffThread(b.input, b.out, opts, 2);
  assert.notEqual(threaded.threadId, 0);
  assert.notEqual(threaded.threadId, threadId);
  assert.deepEqual(comparable(threaded), comparable(local));
  assert.deepEqual(readFileSync(b.out), readFileSync(a.out));
});

test('a refused file comes back as the same DomainError, with its lines, and no output', async () => {
  const content = [chatLine(1), '{"messages": [', chatLine(3), '{"prompt": 1}'].join('\n') + '\n';
  const a = staged(content);
  const b = staged(content);
  const local = await ingestDataset(a.input, a.out, opts).then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e as DomainError,
  );
  await assert.rejects(ingestOffThread(b.input, b.out, opts, 2), (e: unknown) => {
    assert.ok(e instanceof DomainError, `a DomainError, got ${String(e)}`);
    assert.equal(e.code, 'validation_failed');
    assert.equal(e.message, local.message);
    assert.deepEqual(e.details, local.details);
    assert.ok(e.details.some((d) => d.line === 2));
    return true;
  });
  assert.equal(existsSync(b.out), false, 'no output file is left');
});

test('several uploads validate at once on a bounded number of threads', async () => {
  const files = Array.from({ length: 5 }, (_, k) => staged(Array.from({ length: 50 + k }, (_, i) => chatLine(i)).join('\n') + '\n'));
  const results = await Promise.all(files.map((f) => ingestOffThread(f.input, f.out, opts, 2)));
  assert.deepEqual(results.map((r) => r.examples), [50, 51, 52, 53, 54]);
  assert.ok(new Set(results.map((r) => r.threadId)).size <= 2, 'at most two threads');
});

test('0 threads validates on the caller thread', async () => {
  const f = staged(chatLine(1) + '\n');
  const r = await ingestOffThread(f.input, f.out, opts, 0);
  assert.equal(r.threadId, 0);
  assert.equal(r.examples, 1);
});

function bigFile(): { input: string; out: string } {
  // About 40 MB: validating it takes long enough to be interrupted.
  const block = Array.from({ length: 1000 }, (_, i) => chatLine(i)).join('\n') + '\n';
  return staged(block.repeat(Math.ceil((40 << 20) / block.length)));
}

test('aborting an upload stops its validation and leaves no output', async () => {
  const f = bigFile();
  const ac = new AbortController();
  const p = ingestOffThread(f.input, f.out, { ...opts, signal: ac.signal }, 2);
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p);
  assert.equal(existsSync(f.out), false, 'no output file is left');
  // The thread survives an abort and keeps serving.
  const g = staged(chatLine(7) + '\n');
  assert.equal((await ingestOffThread(g.input, g.out, opts, 2)).examples, 1);
});

test('a thread that dies fails its uploads with a clear error, removes their output, and is replaced', async () => {
  const f = bigFile();
  const p = ingestOffThread(f.input, f.out, opts, 1);
  setTimeout(() => void stopDatasetThreads(), 50);
  await assert.rejects(p, /validation thread stopped.*not stored/);
  // The output is removed by the parent, asynchronously.
  for (let i = 0; i < 50 && existsSync(f.out); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(existsSync(f.out), false, 'no output file is left');
  const g = staged(chatLine(8) + '\n');
  assert.equal((await ingestOffThread(g.input, g.out, opts, 1)).examples, 1);
});
