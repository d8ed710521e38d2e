/**
 * Operator CLI: run the agent's measurements on local files, without Temporal.
 *
 *   npx tsx workers/device-agent/src/cli.ts fingerprint
 *   npx tsx workers/device-agent/src/cli.ts quantize <f16.gguf> <Q8_0|Q6_K|Q5_K_M|Q4_K_M|Q4_0> <out-dir>
 *   npx tsx workers/device-agent/src/cli.ts bench <model.gguf> <eval.jsonl> [maxNewTokens=8]
 *
 * Files are staged in a temporary object store, so the code path is the activities' own.
 */
import { mkdtempSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createReadStream } from 'node:fs';
import type { Quantization } from '@edgetune/temporal/activities';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'edgetune-cli-'));
process.env.STORAGE_URL = `file://${scratch}`;

const { storage } = await import('@edgetune/storage');
const { fingerprint } = await import('./fingerprint');
const { quantize } = await import('./quantize');
const { benchmark } = await import('./benchmark');

const [cmd, ...args] = process.argv.slice(2);
const logHook = (msg: string, fields?: Record<string, unknown>) => process.stderr.write(`${msg} ${JSON.stringify(fields ?? {})}\n`);

if (cmd === 'fingerprint') {
  console.log(JSON.stringify(fingerprint(), null, 2));
} else if (cmd === 'quantize' && args.length === 3) {
  const [src, q, outDir] = args as [string, Quantization, string];
  await storage().put('cli/source.gguf', createReadStream(src));
  const out = await quantize({ jobId: 'cli', device: 'local', sourceKey: 'cli/source.gguf', quantization: q, outputPrefix: 'cli/out' }, { log: logHook });
  await mkdir(outDir, { recursive: true });
  const dest = path.join(outDir, path.basename(out.key));
  await copyFile(storage().localPath(out.key)!, dest);
  console.log(JSON.stringify({ ...out, file: dest }, null, 2));
} else if (cmd === 'bench' && args.length >= 2) {
  const [model, evalFile, maxNew] = args as [string, string, string | undefined];
  await storage().put('cli/model.gguf', createReadStream(model));
  await storage().put('cli/eval.jsonl', createReadStream(evalFile));
  const out = await benchmark({ jobId: 'cli', device: 'local', modelKey: 'cli/model.gguf', evalKey: 'cli/eval.jsonl', maxNewTokens: Number(maxNew ?? 8) }, { log: logHook });
  console.log(JSON.stringify(out, null, 2));
} else {
  console.error('usage: cli.ts fingerprint | quantize <f16.gguf> <TYPE> <out-dir> | bench <model.gguf> <eval.jsonl> [maxNewTokens]');
  process.exitCode = 2;
}
await (await import('node:fs/promises')).rm(scratch, { recursive: true, force: true });
