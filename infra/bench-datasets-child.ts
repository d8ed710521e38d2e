/**
 * One measurement of `npm run bench:datasets` in its own process, so its peak RSS is its own:
 * `tsx infra/bench-datasets-child.ts <ours|ours-no-tokens|baseline> <file.jsonl>`; prints one JSON line.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chatRecordSchema } from '@edgetune/contracts';
import { ingestDataset } from '@edgetune/datasets';

const [mode, file] = process.argv.slice(2);

async function baseline(): Promise<number> {
  // The straightforward validator: read lines, JSON.parse, schema-check each record.
  let examples = 0;
  let bad = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    try {
      if (chatRecordSchema.safeParse(JSON.parse(line)).success) examples++;
      else bad++;
    } catch {
      bad++;
    }
  }
  if (bad) throw new Error(`baseline found ${bad} invalid records`);
  return examples;
}

// What the process holds before validating (node, tsx, our modules): the validation's own share is the rest.
const startRssMb = process.memoryUsage().rss / 1048576;
const t0 = performance.now();
const c0 = process.cpuUsage();
let out: Record<string, unknown>;
if (mode === 'baseline') {
  const examples = await baseline();
  out = { examples };
} else {
  const dir = mkdtempSync(path.join(path.dirname(file), 'out-'));
  try {
    const r = await ingestDataset(file, path.join(dir, 'normalized.jsonl'), {
      filename: path.basename(file),
      // A catalog model whose tokenizer is never staged in the bench store: no token counting.
      baseModel: mode === 'ours' ? 'lfm2-tiny' : 'lfm2-350m',
      maxDecompressedBytes: 64 * 1024 ** 3,
    });
    if (mode === 'ours' && !r.report.stats.tokenizer.available) throw new Error(`tokenizer not available: ${r.report.stats.tokenizer.reason}`);
    out = { examples: r.examples, tokens: r.report.stats.tokens?.total ?? null, tokenizerSeconds: (r.stats.tokenizer_ms ?? 0) / 1000, tokenizerNote: r.report.stats.tokenizer.note, parsedInKernel: r.parsedInKernel };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ mode, seconds, cpuSeconds, startRssMb, maxRssMb: process.resourceUsage().maxRSS / 1024, ...out }));
