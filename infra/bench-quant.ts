/**
 * `npm run bench:quant` — every candidate quantization of LFM2 models through the device agent's
 * own quantize and benchmark code, on this machine. Prints, per model and variant: file size,
 * quantize time, prefill and decode tokens/s (median with p10–p90 and sample count, the benchmark
 * protocol's), and decode as a share of this machine's memory-bandwidth roofline (decode reads
 * every weight once per token, so tokens/s cannot exceed bandwidth / file size; the bench
 * measures the read bandwidth itself: native read-only scans in as many threads as llama-bench).
 *
 * Models (BENCH_QUANT_MODELS, default all three):
 *  - lfm2-350m-random, lfm2-1.2b-random (contracts' speedOnlyModels): the released
 *    configurations with RANDOM weights (speed only: size, quantize time and speed are real; they
 *    report no accuracy or quality), made by the trainer's speed_models and converted by the
 *    export's converter;
 *  - lfm2-tiny-trained: lfm2-tiny fine-tuned on the synthetic task by the trainer and exported by
 *    the export path. On it the bench also measures quality against F16 (KL-divergence,
 *    same-top-token %) of each K- and I-quant with and without the importance matrix of its
 *    training data.
 *
 * Env: BENCH_QUANT_MODELS, BENCH_QUANT_TYPES (default every candidate), BENCH_THREADS and the
 * protocol's BENCH_* settings (workers/device-agent/README.md), BENCH_QUANT_DIR (default
 * .data/bench-quant; generated models are kept there and reused).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { quantizations, speedOnlyModels, type Quantization } from '@edgetune/contracts';
import { FsStorage } from '@edgetune/storage';
import { benchSettings, runLlamaBench } from '../workers/device-agent/src/benchmark';
import { parseEvalJsonl } from '../workers/device-agent/src/evalset';
import { IMATRIX_QUANTIZATIONS } from '../workers/device-agent/src/imatrix';
import { measureQuality } from '../workers/device-agent/src/quality';
import { quantize } from '../workers/device-agent/src/quantize';
import { ROOT } from './stack';

const dir = path.resolve(process.env.BENCH_QUANT_DIR ?? path.join(ROOT, '.data', 'bench-quant'));
const models = (process.env.BENCH_QUANT_MODELS ?? ['lfm2-tiny-trained', ...speedOnlyModels.map((m) => m.id)].join(',')).split(',').map((s) => s.trim()).filter(Boolean);
const types = (process.env.BENCH_QUANT_TYPES ? process.env.BENCH_QUANT_TYPES.split(',').map((s) => s.trim()) : [...quantizations]) as Quantization[];
for (const t of types) if (!quantizations.includes(t)) throw new Error(`BENCH_QUANT_TYPES: '${t}' is not one of ${quantizations.join(', ')}`);
const settings = benchSettings();
const python = process.env.PYTHON ?? path.join(ROOT, 'workers', 'trainer', '.venv', 'bin', 'python');
process.env.LLAMA_CPP_DIR ??= path.join(ROOT, '.tools', 'llama.cpp');
mkdirSync(dir, { recursive: true });

function py(args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(python, args, { cwd: path.join(ROOT, 'workers', 'trainer'), env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} failed (${r.status})`);
}

/** The F16 GGUF of a model (generated once into the bench folder). */
function f16(model: string): { gguf: string; eval?: string; calibration?: string; speedOnly: boolean } {
  if (model === 'lfm2-tiny-trained') {
    const out = path.join(dir, model);
    if (!existsSync(path.join(out, 'fixture.json'))) {
      console.log(`[bench:quant] fine-tuning lfm2-tiny on the synthetic task (about a minute)`);
      py(['-m', 'edgetune_trainer.trained_fixture', '--out', out], { STORAGE_URL: `file://${path.join(out, 'objects')}` });
    }
    const f = JSON.parse(readFileSync(path.join(out, 'fixture.json'), 'utf8')) as { gguf: string; eval: string; calibration: string };
    return { ...f, speedOnly: false };
  }
  const entry = speedOnlyModels.find((m) => m.id === model);
  if (!entry) throw new Error(`BENCH_QUANT_MODELS: '${model}' is neither lfm2-tiny-trained nor a speed-only model (${speedOnlyModels.map((m) => m.id).join(', ')})`);
  const gguf = path.join(dir, `${model}-f16.gguf`);
  if (!existsSync(gguf)) {
    console.log(`[bench:quant] generating ${entry.name} and converting it to GGUF F16 with the export's converter`);
    py(['-m', 'edgetune_trainer.speed_models', '--model', entry.configurationOf, '--out', path.join(dir, `${model}-hf`), '--gguf', `${gguf}.tmp`]);
    renameSync(`${gguf}.tmp`, gguf);
  }
  return { gguf, speedOnly: true };
}

/**
 * Read bandwidth of this machine's memory: `threads` workers each scan their own 256 MiB buffer
 * (memchr for a byte it does not hold, and memcmp of two buffers: native, vectorised, read-only,
 * as decode reads weights); the best of `trials` rounds, as STREAM reports its best rate.
 */
async function readBandwidthGBs(threads: number, trials = 5): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const n = 256 * 1024 * 1024, a = Buffer.alloc(n, 1), b = Buffer.alloc(n, 1);
    parentPort.on('message', () => {
      const t0 = process.hrtime.bigint();
      if (a.indexOf(7) !== -1 || a.compare(b) !== 0) throw new Error('unexpected contents');
      parentPort.postMessage({ bytes: 3 * n, ns: Number(process.hrtime.bigint() - t0) });
    });
    parentPort.postMessage('ready');`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  let best = 0;
  for (let t = 0; t < trials; t++) {
    const t0 = performance.now();
    const results = await Promise.all(
      workers.map((w) => {
        const p = new Promise<{ bytes: number }>((r) => w.once('message', r));
        w.postMessage('go');
        return p;
      }),
    );
    best = Math.max(best, results.reduce((s, r) => s + r.bytes, 0) / ((performance.now() - t0) / 1000) / 1e9);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return best;
}

/** The last-level cache (Linux sysfs), in bytes; 0 where it is not exposed. */
function llcBytes(): number {
  try {
    const dir = '/sys/devices/system/cpu/cpu0/cache';
    const sizes = readdirSync(dir)
      .filter((d) => d.startsWith('index'))
      .map((d) => readFileSync(path.join(dir, d, 'size'), 'utf8').trim())
      .map((t) => { const m = /^(\d+)([KMG]?)$/.exec(t); return m ? Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'K' | 'M' | 'G'] : 0; });
    return Math.max(0, ...sizes);
  } catch {
    return 0;
  }
}

const fmt = (x: number, d = 1) => x.toFixed(d);
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

console.log(`[bench:quant] ${os.cpus()[0]?.model ?? 'cpu'} · ${os.availableParallelism()} cores · threads ${settings.threads} · protocol: rounds of ${settings.repetitions} until spread ≤ ${settings.maxSpread * 100} % or ${settings.maxRepetitions} repetitions`);
const bw = await readBandwidthGBs(settings.threads);
const llc = llcBytes();
console.log(`[bench:quant] memory read bandwidth (memchr + memcmp scans of 256 MiB per thread, ${settings.threads} threads, best of 5): ${fmt(bw)} GB/s; last-level cache ${llc ? mb(llc) : 'not exposed'}\n`);

for (const model of models) {
  const src = f16(model);
  const store = new FsStorage(path.join(dir, 'objects', model));
  const put = async (key: string, file: string) => {
    if (!(await store.head(key))) await store.put(key, createReadStream(file));
  };
  await put('f16.gguf', src.gguf);
  if (src.eval) await put('eval.jsonl', src.eval);
  if (src.calibration) await put('calibration.txt', src.calibration);
  const label = speedOnlyModels.find((m) => m.id === model)?.name ?? 'lfm2-tiny fine-tuned on the synthetic task';
  console.log(`## ${model}: ${label} · F16 ${mb(statSync(src.gguf).size)}`);
  console.log('variant | size | quantize s | prefill tok/s (p10–p90, n) | decode tok/s (p10–p90, n) | roofline tok/s | decode / roofline');
  console.log('--- | --- | --- | --- | --- | --- | ---');
  const rows: { q: Quantization; key: string }[] = [];
  let aboveRoofline = false;
  for (const q of types) {
    const calibrationKey = src.calibration && IMATRIX_QUANTIZATIONS.has(q) ? 'calibration.txt' : undefined;
    const out = await quantize({ jobId: 'bench', device: 'bench', sourceKey: 'f16.gguf', quantization: q, outputPrefix: 'variants', ...(calibrationKey ? { calibrationKey } : {}) }, {}, store);
    const b = await runLlamaBench(store.localPath(out.key)!, settings);
    const roof = (bw * 1e9) / out.sizeBytes;
    aboveRoofline ||= b.decode.median > roof;
    const inCache = llc > 0 && out.sizeBytes <= llc ? ', fits in the cache' : '';
    console.log(
      `${q}${out.imatrix ? ' (imatrix)' : ''} | ${mb(out.sizeBytes)} | ${fmt(out.durationS)} | ${fmt(b.prefill.median)} (${fmt(b.prefill.p10)}–${fmt(b.prefill.p90)}, ${b.prefill.samples}) | ` +
        `${fmt(b.decode.median)} (${fmt(b.decode.p10)}–${fmt(b.decode.p90)}, ${b.decode.samples}${b.converged ? '' : ', not converged'}) | ${fmt(roof)} | ${fmt((100 * b.decode.median) / roof)} %${inCache}`,
    );
    rows.push({ q, key: out.key });
  }
  if (aboveRoofline) {
    console.log(
      '(above 100 %: a file that fits in the last-level cache is read from cache, not memory; a larger one means llama.cpp read memory faster than the scans above did, so the roofline is a lower bound there)',
    );
  }
  if (src.eval) {
    // Quality against the F16 on the eval split, each K- and I-quant with and without the importance matrix.
    const examples = parseEvalJsonl(readFileSync(src.eval, 'utf8'));
    const scratch = path.join(dir, 'scratch');
    mkdirSync(scratch, { recursive: true });
    const quality = (key: string) =>
      measureQuality(
        { modelPath: store.localPath(key)!, referencePath: async () => store.localPath('f16.gguf')!, identity: `bench:${model}:${statSync(src.gguf).size}`, examples, scratch },
        { threads: settings.threads, contextTokens: settings.qualityContextTokens, maxChunks: settings.qualityMaxChunks },
      );
    console.log(`\nquality against F16 on the eval split (${examples.length} examples) · with and without the importance matrix of the training data`);
    console.log('variant | KL mean (imatrix / none) | KL p99 (imatrix / none) | same top token % (imatrix / none) | perplexity × (imatrix / none)');
    console.log('--- | --- | --- | --- | ---');
    for (const { q, key } of rows.filter((r) => IMATRIX_QUANTIZATIONS.has(r.q))) {
      const plain = await quantize({ jobId: 'bench', device: 'bench', sourceKey: 'f16.gguf', quantization: q, outputPrefix: 'plain' }, {}, store);
      const [a, b] = [await quality(key), await quality(plain.key)];
      if (!('quality' in a) || !('quality' in b)) {
        console.log(`${q} | not measured: ${'skipped' in a ? a.skipped : ''}`);
        continue;
      }
      const x = a.quality;
      const y = b.quality;
      console.log(
        `${q} | ${x.klDivergenceMean.toPrecision(3)} / ${y.klDivergenceMean.toPrecision(3)} | ${x.klDivergenceP99.toPrecision(3)} / ${y.klDivergenceP99.toPrecision(3)} | ` +
          `${fmt(x.sameTopTokenPercent, 2)} / ${fmt(y.sameTopTokenPercent, 2)} | ${x.perplexityRatio.toFixed(4)} / ${y.perplexityRatio.toFixed(4)}`,
      );
    }
    for (const { q, key } of rows.filter((r) => !IMATRIX_QUANTIZATIONS.has(r.q))) {
      const a = await quality(key);
      if ('quality' in a) console.log(`${q} (no imatrix used) | ${a.quality.klDivergenceMean.toPrecision(3)} | ${a.quality.klDivergenceP99.toPrecision(3)} | ${fmt(a.quality.sameTopTokenPercent, 2)} | ${a.quality.perplexityRatio.toFixed(4)}`);
    }
  }
  console.log('');
}
