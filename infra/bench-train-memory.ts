/**
 * `npm run bench:train-memory` — the memory plan against the trainer's real peak. For each run
 * (method, objective, batch size, sequence length, gradient checkpointing) the trainer's own
 * `train()` runs a few steps on the LFM2-350M configuration with RANDOM weights (speed_models;
 * memory depends on the architecture, not on the weights' values), each in a fresh process
 * (edgetune_trainer.memory_probe), and the platform's estimate (packages/contracts
 * training-memory.ts) is printed beside the measured peak resident memory (CUDA: peak allocated).
 *
 *   BENCH_MEMORY_MODEL=lfm2-350m (or lfm2-1.2b)
 *   BENCH_MEMORY_RUNS="lora:sft:2:512,full:sft:2:512:gc"   method:objective:batch:seq[:gc]
 *   --json: one JSON object per run
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { estimateTrainingMemory } from '@edgetune/contracts';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const json = process.argv.includes('--json');
const model = process.env.BENCH_MEMORY_MODEL ?? 'lfm2-350m';
const runs = (process.env.BENCH_MEMORY_RUNS ?? 'lora:sft:2:512,lora:sft:4:512,full:sft:2:512,full:sft:4:512,lora:sft:4:512:gc,full:sft:4:512:gc,lora:dpo:2:512')
  .split(',')
  .map((r) => {
    const [method, objective, batch, seq, gc] = r.split(':');
    if ((method !== 'lora' && method !== 'full') || (objective !== 'sft' && objective !== 'dpo') || !Number(batch) || !Number(seq) || (gc && gc !== 'gc')) {
      throw new Error(`BENCH_MEMORY_RUNS: '${r}' is not method:objective:batch:seq[:gc]`);
    }
    return { method: method as 'lora' | 'full', objective: objective as 'sft' | 'dpo', batch: Number(batch), seq: Number(seq), gc: gc === 'gc' };
  });
const python = process.env.PYTHON ?? path.join(ROOT, 'workers', 'trainer', '.venv', 'bin', 'python');
process.env.LLAMA_CPP_DIR ??= path.join(ROOT, '.tools', 'llama.cpp');
const dir = path.join(ROOT, '.data', 'bench-train-memory', `${model}-random`);

function py(args: string[]): string {
  const r = spawnSync(python, args, { cwd: path.join(ROOT, 'workers', 'trainer'), env: { ...process.env, HF_HUB_OFFLINE: '1' }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} failed (${r.status})`);
  return r.stdout;
}

if (!existsSync(path.join(dir, 'config.json'))) {
  mkdirSync(dir, { recursive: true });
  console.error(`[bench:train-memory] writing the ${model} configuration with random weights to ${dir}`);
  py(['-m', 'edgetune_trainer.speed_models', '--model', model, '--out', dir]);
}

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
if (!json) console.log(`\nbench:train-memory — ${model} configuration, random weights (memory only), the trainer's train() for 2 steps per run, this machine\n`);
for (const r of runs) {
  const out = py(['-m', 'edgetune_trainer.memory_probe', '--model-dir', dir, '--method', r.method, '--objective', r.objective, '--batch', String(r.batch), '--seq', String(r.seq), ...(r.gc ? ['--gradient-checkpointing'] : [])]);
  const measured = JSON.parse(out.trim().split('\n').pop()!) as { device: string; bf16: boolean; peakRssBytes: number; peakMemoryBytes: number; seconds: number };
  const peak = measured.device === 'cuda' ? measured.peakMemoryBytes : measured.peakRssBytes;
  const est = estimateTrainingMemory({ modelId: model, method: r.method, objective: r.objective, batchSize: r.batch, loraRank: 16, seqLen: r.seq, gradientCheckpointing: r.gc, bf16: measured.bf16 })!;
  const error = est.peakBytes / peak - 1;
  if (json) {
    console.log(JSON.stringify({ model, method: r.method, objective: r.objective, batch_size: r.batch, seq_len: r.seq, gradient_checkpointing: r.gc, device: measured.device, bf16: measured.bf16, estimated_peak_bytes: est.peakBytes, measured_peak_bytes: peak, error: Number(error.toFixed(3)) }));
  } else {
    const label = `${r.method} ${r.objective} batch ${r.batch} × ${r.seq}${r.gc ? ' checkpointed' : ''}${measured.bf16 ? ' bf16' : ''}`.padEnd(40);
    console.log(`  ${label} estimate ${gib(est.peakBytes).padStart(10)}  measured ${gib(peak).padStart(10)}  ${error >= 0 ? '+' : ''}${(error * 100).toFixed(1)} %  (${measured.seconds} s)`);
  }
}
if (!json) console.log('\n  target of issue 18: the estimate within 25 % of the measured peak at LFM2-350M, for LoRA and full\n');
