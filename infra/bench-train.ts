/**
 * `npm run bench:train` — edgetune's trainer beside TRL's `SFTTrainer` and a plain transformers
 * `Trainer`, on the LFM2-350M configuration with RANDOM weights (speed only: speed depends on the
 * architecture, not on the weights' values), for LoRA and full fine-tuning. Each row is a fresh
 * process (edgetune_trainer.train_bench): the same support-like chats (a mix of short and long),
 * the same LoRA rank, learning rate, examples per step and compute precision, a warm-up, then a
 * fixed wall time in which the real tokens of the examples processed are counted.
 *
 *   BENCH_TRAIN_MODEL=lfm2-350m (or lfm2-tiny: its real tiny weights, a quick check)
 *   BENCH_TRAIN_SECONDS=100, BENCH_TRAIN_WARMUP_SECONDS=30, BENCH_TRAIN_BATCH=8 (examples per step)
 *   BENCH_TRAIN_ROWS="edgetune:lora,trl:lora,…"  the rows (default: the three trainers × lora, full)
 *   --json: one JSON object per row
 *
 * TRL is installed on demand into the trainer's environment (workers/trainer/requirements-bench.txt,
 * within the trainer's pins); the trainer itself never imports it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TRAINER = path.join(ROOT, 'workers', 'trainer');
const json = process.argv.includes('--json');
const model = process.env.BENCH_TRAIN_MODEL ?? 'lfm2-350m';
const seconds = Number(process.env.BENCH_TRAIN_SECONDS ?? 100);
const warmup = Number(process.env.BENCH_TRAIN_WARMUP_SECONDS ?? 30);
const batch = Number(process.env.BENCH_TRAIN_BATCH ?? 8);
const rows = (process.env.BENCH_TRAIN_ROWS ?? 'edgetune:lora,trl:lora,transformers:lora,edgetune:full,trl:full,transformers:full').split(',').map((r) => {
  const [trainer, method] = r.split(':');
  if (!['edgetune', 'trl', 'transformers'].includes(trainer) || !['lora', 'full'].includes(method)) {
    throw new Error(`BENCH_TRAIN_ROWS: '${r}' is not trainer:method (edgetune|trl|transformers : lora|full)`);
  }
  return { trainer, method };
});
if (!(seconds > 0) || !(warmup >= 0) || !(batch >= 1)) throw new Error('BENCH_TRAIN_SECONDS, BENCH_TRAIN_WARMUP_SECONDS and BENCH_TRAIN_BATCH must be positive numbers');
const python = process.env.PYTHON ?? path.join(TRAINER, '.venv', 'bin', 'python');
const env = { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', LLAMA_CPP_DIR: process.env.LLAMA_CPP_DIR ?? path.join(ROOT, '.tools', 'llama.cpp') };

function py(args: string[], stdout: 'pipe' | 'inherit' = 'pipe'): string {
  const r = spawnSync(python, args, { cwd: TRAINER, env, stdio: ['ignore', stdout, 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} failed (${r.status})`);
  return r.stdout ?? '';
}

if (spawnSync(python, ['-c', 'import trl'], { cwd: TRAINER, env, stdio: 'ignore' }).status !== 0) {
  console.error('[bench:train] installing TRL (workers/trainer/requirements-bench.txt) into the trainer environment');
  py(['-m', 'pip', 'install', '-q', '-r', 'requirements-bench.txt', '-c', 'requirements.txt'], 'inherit');
}

let dir: string;
if (model === 'lfm2-tiny') {
  dir = py(['-c', "import os; os.environ.setdefault('STORAGE_URL', 'file://' + os.path.abspath('../../.data/bench-train/objects')); os.environ.setdefault('EDGETUNE_CACHE_DIR', os.path.abspath('../../.data/bench-train/cache')); from edgetune_trainer import models; print(models.resolve_base_model({'id': 'lfm2-tiny', 'storagePrefix': 'models/lfm2-tiny', 'hubId': None, 'builtin': True, 'contextLength': 2048}))"]).trim().split('\n').pop()!;
} else {
  dir = path.join(ROOT, '.data', 'bench-train', `${model}-random`);
  if (!existsSync(path.join(dir, 'config.json'))) {
    mkdirSync(dir, { recursive: true });
    console.error(`[bench:train] writing the ${model} configuration with random weights to ${dir}`);
    py(['-m', 'edgetune_trainer.speed_models', '--model', model, '--out', dir]);
  }
}

type Row = { model: string; method: string; trainer: string; tokens_per_s: number; peak_rss_bytes: number; checkpoint_overhead_pct: number; checkpoints_kept: number; window_tokens: number; window_seconds: number; window_steps: number; bf16: boolean; device: string; mean_example_tokens: number; packing: boolean };
const results: Row[] = [];
if (!json) {
  console.log(`\nbench:train — ${model}${model === 'lfm2-tiny' ? '' : ' configuration, random weights (speed only)'}, ${batch} examples per step, ${warmup} s warm-up then ${seconds} s timed per row, this machine\n`);
}
for (const r of rows) {
  const out = py(['-m', 'edgetune_trainer.train_bench', '--trainer', r.trainer, '--method', r.method, '--model-dir', dir, '--model', model, '--batch', String(batch), '--seconds', String(seconds), '--warmup-seconds', String(warmup)]);
  const row = JSON.parse(out.trim().split('\n').pop()!) as Row;
  results.push(row);
  if (json) {
    console.log(JSON.stringify({ model: row.model, method: row.method, trainer: row.trainer, tokens_per_s: row.tokens_per_s, peak_rss_bytes: row.peak_rss_bytes, checkpoint_overhead_pct: row.checkpoint_overhead_pct, checkpoints_kept: row.checkpoints_kept }));
  } else {
    console.log(
      `  ${row.method.padEnd(5)} ${row.trainer.padEnd(13)} ${row.tokens_per_s.toFixed(1).padStart(8)} tokens/s  peak RSS ${(row.peak_rss_bytes / 2 ** 30).toFixed(2).padStart(6)} GiB  checkpoints ${row.checkpoint_overhead_pct.toFixed(1).padStart(4)} % of the time, ${row.checkpoints_kept} kept  ` +
        `(${row.window_tokens} tokens in ${row.window_seconds} s, ${row.window_steps} steps; ${row.device}${row.bf16 ? ' bf16' : ' fp32'}; ${row.packing ? 'padding-free' : 'padded'})`,
    );
  }
}
if (!json) {
  console.log('');
  for (const method of ['lora', 'full']) {
    const e = results.find((x) => x.method === method && x.trainer === 'edgetune');
    for (const other of ['trl', 'transformers']) {
      const o = results.find((x) => x.method === method && x.trainer === other);
      if (e && o) console.log(`  ${method}: edgetune / ${other} = ${(e.tokens_per_s / o.tokens_per_s).toFixed(2)}×`);
    }
  }
  console.log(`\n  mean example ${results[0]?.mean_example_tokens ?? '?'} tokens; target of issue 18: edgetune ≥ 1.3× TRL for LoRA and full\n`);
}
