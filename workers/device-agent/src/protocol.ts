/**
 * The benchmark protocol: how many times a figure is measured and what is reported of it.
 * llama-bench warms up, then runs in rounds until the spread of every speed figure (p90 - p10,
 * relative to the median) is below a threshold or a cap on repetitions is reached; each figure
 * is reported as its median with p10, p90 and the sample count. The machine's state that moves
 * such figures (frequency governor, temperature, the runtime's build flags) is recorded with them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface SpreadStats {
  median: number;
  p10: number;
  p90: number;
  samples: number;
  /** (p90 - p10) / median: 0.05 = the middle 80 % of runs lie within 5 % of the median. */
  relativeSpread: number;
}

/** Linear interpolation between closest ranks (numpy's default), on a sorted array. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function spreadStats(xs: number[]): SpreadStats {
  if (xs.length === 0) throw new Error('no samples');
  const s = [...xs].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const p10 = quantile(s, 0.1);
  const p90 = quantile(s, 0.9);
  return { median, p10, p90, samples: s.length, relativeSpread: median > 0 ? (p90 - p10) / median : 0 };
}

export function stdev(xs: number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
}

export interface ProtocolSettings {
  /** Repetitions per llama-bench round. */
  roundRepetitions: number;
  /** Stop once every speed figure's relative spread is at most this. */
  maxSpread: number;
  /** ...or once this many repetitions were measured. */
  maxRepetitions: number;
}

/**
 * Runs `round(n)` (which measures n more samples of each named figure) until every figure's
 * spread is at most `maxSpread` or `maxRepetitions` samples were taken.
 */
export async function untilStable<K extends string>(
  s: ProtocolSettings,
  round: (repetitions: number) => Promise<Record<K, number[]>>,
): Promise<{ samples: Record<K, number[]>; converged: boolean; rounds: number }> {
  let samples: Record<K, number[]> | null = null;
  for (let rounds = 1; ; rounds++) {
    const taken = samples ? Math.min(...Object.values<number[]>(samples).map((x) => x.length)) : 0;
    const next = await round(Math.max(1, Math.min(s.roundRepetitions, s.maxRepetitions - taken)));
    if (!samples) samples = next;
    else for (const k of Object.keys(next) as K[]) samples[k].push(...next[k]);
    const all = Object.values<number[]>(samples);
    const converged = all.every((x) => spreadStats(x).relativeSpread <= s.maxSpread);
    const count = Math.min(...all.map((x) => x.length));
    if (converged || count >= s.maxRepetitions) return { samples, converged, rounds };
  }
}

/** Hottest thermal zone the OS exposes, in °C; undefined where it exposes none. */
export function cpuTemperatureC(root = '/sys/class/thermal'): number | undefined {
  if (!existsSync(root)) return undefined;
  let max: number | undefined;
  for (const zone of readdirSync(root).filter((n) => n.startsWith('thermal_zone'))) {
    try {
      const milli = Number(readFileSync(path.join(root, zone, 'temp'), 'utf8').trim());
      if (Number.isFinite(milli) && milli > 0) max = Math.max(max ?? -Infinity, milli / 1000);
    } catch {
      // A zone without a readable temperature says nothing.
    }
  }
  return max;
}

/**
 * The switches of the llama.cpp build that decide which kernels run (CMakeCache.txt): build type,
 * native tuning, the x86 / ARM instruction sets forced on, OpenMP, llamafile sgemm, repacking and
 * the accelerator backends. The cache lists every backend's defaults too; only these matter here.
 */
const RELEVANT = /^(CMAKE_BUILD_TYPE|GGML_(NATIVE|AVX\w*|FMA|F16C|SSE42|BMI2|AMX\w*|ARM\w*|SVE|OPENMP|LLAMAFILE|CPU_REPACK|CPU_ALL_VARIANTS|BACKEND_DL|CUDA|METAL|VULKAN|HIP|SYCL|BLAS|KLEIDIAI))$/;

export function buildFlags(llamaCppDir: string): string {
  const cache = path.join(llamaCppDir, 'build', 'CMakeCache.txt');
  if (!existsSync(cache)) return 'unknown (no CMakeCache.txt)';
  return readFileSync(cache, 'utf8')
    .split('\n')
    .map((l) => /^([A-Z0-9_]+):[A-Z]+=(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && RELEVANT.test(m[1]) && m[2] !== '' && m[2] !== 'OFF')
    .map((m) => (m[2] === 'ON' ? m[1] : `${m[1]}=${m[2]}`))
    .join(' ');
}
