import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ImatrixInfo, Quantization, QuantizeInput, QuantizeOutput } from '@edgetune/temporal/activities';
import { quantizations, quantizedKey } from '@edgetune/contracts';
import { storage, type Storage } from '@edgetune/storage';
import { llamaTool } from './config';
import { isGguf, localCopy, sha256File, tempDir } from './files';
import { IMATRIX_QUANTIZATIONS, importanceMatrix, imatrixSettings } from './imatrix';
import { runChild } from './proc';

export const QUANTIZATIONS: readonly Quantization[] = quantizations;

export interface ActivityHooks {
  signal?: AbortSignal;
  heartbeat?: (detail: unknown) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  onSpawn?: (pid: number) => void;
}

export { quantizedKey };

/**
 * llama-quantize [--imatrix <m>] <f16> <out> <TYPE>, uploaded to `<outputPrefix>/<type>.gguf`.
 * K- and I-quants of a job with calibration text use its importance matrix. Rerunning
 * overwrites the object atomically (temp file + rename, or the store's atomic put).
 */
export async function quantize(input: QuantizeInput, hooks: ActivityHooks = {}, store: Storage = storage()): Promise<QuantizeOutput> {
  if (!QUANTIZATIONS.includes(input.quantization)) throw new Error(`Unsupported quantization ${input.quantization}`);
  const tool = llamaTool('llama-quantize');
  const key = quantizedKey(input.outputPrefix, input.quantization);
  const scratch = await tempDir('quantize');
  const started = performance.now();
  try {
    const source = await localCopy(store, input.sourceKey, scratch.dir);
    if (!(await isGguf(source))) throw new Error(`${input.sourceKey} is not a GGUF file`);
    let imatrix: { path: string; info: ImatrixInfo } | null = null;
    let imatrixSkipped: string | undefined;
    if (input.calibrationKey && IMATRIX_QUANTIZATIONS.has(input.quantization)) {
      const [src, cal] = await Promise.all([store.head(input.sourceKey), store.head(input.calibrationKey)]);
      const m = await importanceMatrix(
        {
          sourcePath: source,
          calibrationPath: await localCopy(store, input.calibrationKey, scratch.dir),
          identity: `${input.sourceKey}:${src?.sizeBytes ?? 0}\n${input.calibrationKey}:${cal?.sizeBytes ?? 0}`,
          scratch: scratch.dir,
        },
        imatrixSettings(),
        hooks,
      );
      if ('skipped' in m) imatrixSkipped = m.skipped;
      else imatrix = m;
    }
    // Write next to the destination when the store is a filesystem (one rename, no copy).
    const destLocal = store.localPath(key);
    let out: string;
    if (destLocal) {
      await mkdir(path.dirname(destLocal), { recursive: true });
      out = `${destLocal}.tmp-${randomBytes(6).toString('hex')}`;
    } else {
      out = path.join(scratch.dir, path.basename(key));
    }
    try {
      hooks.log?.('quantize started', { sourceKey: input.sourceKey, quantization: input.quantization, key });
      await runChild(tool, [...(imatrix ? ['--imatrix', imatrix.path] : []), source, out, input.quantization], {
        signal: hooks.signal,
        heartbeat: hooks.heartbeat,
        label: `llama-quantize ${input.quantization}`,
        onSpawn: hooks.onSpawn,
      });
      if (!(await isGguf(out))) throw new Error(`llama-quantize produced no GGUF at ${out}`);
      const { size } = await stat(out);
      const sha256 = await sha256File(out);
      if (destLocal) await rename(out, destLocal);
      else await store.put(key, createReadStream(out));
      const durationS = (performance.now() - started) / 1000;
      hooks.log?.('quantize done', { key, sizeBytes: size, sha256, durationS, imatrix: imatrix?.info.sha256 ?? imatrixSkipped ?? null });
      return {
        key,
        quantization: input.quantization,
        sizeBytes: size,
        sha256,
        durationS,
        ...(imatrix ? { imatrix: imatrix.info } : {}),
        ...(imatrixSkipped ? { imatrixSkipped } : {}),
      };
    } finally {
      await rm(out, { force: true });
    }
  } finally {
    await scratch.cleanup();
  }
}
