import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import OpenAI from 'openai';
import { loadConfig } from '@edgetune/config';
import { chatRoles, datasetApiDocs, datasetDocLimits, datasetFormatDocs, DomainError, docExampleText, MAX_CHUNK_BYTES, UPLOAD_CHUNK_BYTES, UPLOAD_TTL_MS, type DatasetFormatDoc } from '@edgetune/contracts';
import { DEFAULT_MAX_LINE_BYTES, ingestDataset, MAX_REPORTED_ERRORS, type IngestOptions, type IngestResult } from './index';
import { MIN_EXAMPLE_CHARS } from './analysis';
import { DEFAULT_MAX_RATIO } from './source';
import { mappingTargets, MAX_CSV_RECORD_BYTES, MAX_ROW_GROUP_BYTES } from './tabular';
import { clearTokenizerCache } from './tokens';

/**
 * The dataset formats guide (contracts/dataset-docs.ts, rendered at /docs/datasets) against the
 * real validator: every documented example is accepted as documented, every documented refusal is
 * refused naming the documented field, and every quoted limit is the one the code enforces.
 */

const root = mkdtempSync(path.join(os.tmpdir(), 'edgetune-docs-'));

before(() => {
  // An empty object store: no tokenizer, so token statistics are reported as unavailable.
  process.env.STORAGE_URL = `file://${path.join(root, 'objects')}`;
  clearTokenizerCache();
});
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
async function ingest(content: string | Buffer, filename: string, opts: Partial<IngestOptions> = {}): Promise<{ result?: IngestResult; error?: DomainError; dir: string; out: string }> {
  const dir = path.join(root, `case-${++n}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, filename), content);
  const out = path.join(dir, 'normalized.jsonl');
  try {
    return { dir, out, result: await ingestDataset(path.join(dir, filename), out, { filename, maxDecompressedBytes: 1 << 30, ...opts }) };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    return { dir, out, error: e };
  }
}

function accepted(r: { result?: IngestResult; error?: DomainError; out: string }, doc: DatasetFormatDoc, compression = 'none'): void {
  assert.ifError(r.error);
  const res = r.result as IngestResult;
  assert.equal(res.format, doc.example.expect.format, `${doc.id}: format`);
  assert.equal(res.examples, doc.example.expect.examples, `${doc.id}: examples`);
  assert.equal(res.source.compression, compression);
  // An example to copy should be exemplary: no duplicate, too-short, PII … warnings.
  assert.deepEqual(res.report.warnings, [], `${doc.id}: the example draws warnings`);
  assert.equal(readFileSync(r.out, 'utf8').trim().split('\n').length, doc.example.expect.examples);
}

const hasZstd = spawnSync('zstd', ['--version']).status === 0;

describe('every documented example is accepted as documented', () => {
  for (const doc of datasetFormatDocs) {
    const ex = doc.example;
    if (ex.kind === 'text') {
      test(`${doc.id}: ${ex.filename}`, async () => {
        accepted(await ingest(ex.content, ex.filename, { columns: ex.columns }), doc);
      });
    } else if (ex.kind === 'parquet') {
      test(`${doc.id}: ${ex.filename}`, async () => {
        const buf = parquetWriteBuffer({ columnData: ex.schema.map((c) => ({ name: c.name, type: c.type, data: c.values })) });
        const r = await ingest(Buffer.from(buf), ex.filename, { columns: ex.columns });
        accepted(r, doc);
        assert.deepEqual(r.result?.source.columns, ex.columns);
      });
    } else {
      const text = docExampleText(doc) as string;
      assert.equal(text, (datasetFormatDocs.find((d) => d.id === ex.of)?.example as { content: string }).content);
      for (const v of ex.variants) {
        test(`${doc.id}: ${v.filename}`, { skip: v.compression === 'zstd' && !hasZstd ? 'no zstd compressor: node 20 has none and the `zstd` command is not installed' : false }, async () => {
          const bytes = v.compression === 'gzip' ? gzipSync(text) : execFileSync('zstd', ['-q', '-c'], { input: text });
          accepted(await ingest(bytes, v.filename), doc, v.compression);
        });
      }
    }
  }
});

describe('every documented refusal is refused naming the documented field', () => {
  for (const doc of datasetFormatDocs) {
    const ex = doc.example;
    const ext = ex.kind === 'text' ? path.extname(ex.filename) : '.jsonl';
    for (const bad of doc.refused) {
      test(`${doc.id}: ${bad.why}`, async () => {
        const filename = `refused${ext}`;
        const r = await ingest(bad.content, filename, { columns: bad.columns });
        assert.ok(r.error, `expected a refusal, got ${JSON.stringify(r.result?.report)}`);
        assert.equal(r.error.code, 'validation_failed');
        assert.equal(r.error.param, bad.param ?? 'file');
        const details = (r.error.details ?? []) as { field?: string }[];
        if (bad.field === null) assert.equal(details.length, 0, r.error.message);
        else assert.equal(details[0]?.field, bad.field, r.error.message);
        assert.deepEqual(readdirSync(r.dir), [filename], 'nothing is left behind');
      });
    }
  }
});

describe('the guide matches the code', () => {
  test('quoted limits are the enforced ones', () => {
    const defaults = loadConfig({} as NodeJS.ProcessEnv); // the embedded defaults, whatever this shell sets
    assert.deepEqual(datasetDocLimits, {
      maxLineBytes: DEFAULT_MAX_LINE_BYTES,
      maxCsvRecordBytes: MAX_CSV_RECORD_BYTES,
      maxParquetRowGroupBytes: MAX_ROW_GROUP_BYTES,
      maxReportedErrors: MAX_REPORTED_ERRORS,
      maxDecompressionRatio: DEFAULT_MAX_RATIO,
      defaultMaxUploadBytes: defaults.MAX_UPLOAD_BYTES,
      defaultMaxDecompressedBytes: defaults.MAX_DECOMPRESSED_BYTES,
      uploadChunkBytes: UPLOAD_CHUNK_BYTES,
      maxChunkBytes: MAX_CHUNK_BYTES,
      uploadTtlHours: UPLOAD_TTL_MS / 3_600_000,
      minExampleChars: MIN_EXAMPLE_CHARS,
    });
  });

  test('the chat table lists every role; the CSV and Parquet tables list every mapping key', () => {
    const chat = datasetFormatDocs.find((d) => d.id === 'chat') as DatasetFormatDoc;
    const roleRow = chat.table.rows.find((r) => r[0] === 'messages[].role');
    for (const role of chatRoles) assert.match(roleRow?.[3] ?? '', new RegExp(`"${role}"`));
    const keys = new Set(Object.values(mappingTargets).flatMap((t) => [...t.required, ...t.optional]));
    for (const id of ['csv', 'parquet']) {
      const doc = datasetFormatDocs.find((d) => d.id === id) as DatasetFormatDoc;
      const listed = new Set(doc.table.rows.flatMap((r) => r[0].split(',').map((k) => k.trim())));
      assert.deepEqual([...listed].sort(), [...keys].sort(), id);
    }
  });

  test("the README's one-line examples are accepted", async () => {
    const readme = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Dataset formats'), readme.indexOf('\n## ', readme.indexOf('## Dataset formats') + 1));
    const rows: [string, string][] = [
      ['chat JSONL', 'chat'],
      ['prompt/completion JSONL', 'prompt_completion'],
      ['preference JSONL', 'preference'],
    ];
    for (const [label, format] of rows) {
      const row = section.split('\n').find((l) => l.startsWith(`| ${label}`));
      const record = row?.match(/\| `(\{.*\})` \|$/)?.[1];
      assert.ok(record, `README row "${label}" with a JSON example`);
      const r = await ingest(record + '\n', 'readme.jsonl');
      assert.ifError(r.error);
      assert.equal(r.result?.format, format);
    }
    assert.match(section, new RegExp(`at most ${DEFAULT_MAX_LINE_BYTES / (1 << 20)} MiB`));
  });

  test('the documented OpenAI client call sends the extra fields as form fields', async () => {
    let form: FormData | null = null;
    let url = '';
    const client = new OpenAI({
      apiKey: 'et-test',
      baseURL: 'http://edgetune.invalid/v1',
      fetch: async (input, init) => {
        const req = new Request(input as string, init as RequestInit);
        url = req.url;
        form = await req.formData();
        return new Response(JSON.stringify({ id: 'file-1', object: 'file', bytes: 1, created_at: 0, filename: 'support.csv', purpose: 'fine-tune', status: 'processed' }), {
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    // The same call as the guide's snippet (a Buffer instead of a read stream).
    const csv = datasetFormatDocs.find((d) => d.id === 'csv')?.example as { content: string; columns: Record<string, string> };
    await client.files.create({
      file: await OpenAI.toFile(Buffer.from(csv.content), 'support.csv'),
      purpose: 'fine-tune',
      dataset: 'support',
      columns: JSON.stringify({ prompt: 'question', completion: 'answer' }),
    } as unknown as Parameters<typeof client.files.create>[0]);
    const snippet = datasetApiDocs('http://edgetune.invalid').find((s) => s.id === 'api-openai')?.code ?? '';
    assert.match(snippet, /dataset: 'support', columns: JSON\.stringify\(\{ prompt: 'question', completion: 'answer' \}\)/);
    assert.equal(url, 'http://edgetune.invalid/v1/files');
    const f = form as unknown as FormData;
    assert.equal(f.get('purpose'), 'fine-tune');
    assert.equal(f.get('dataset'), 'support');
    assert.deepEqual(JSON.parse(f.get('columns') as string), csv.columns);
  });
});
