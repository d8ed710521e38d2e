import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@edgetune/config';
import { findDeviceProfile, profileRefusal, profilesServedBy } from '@edgetune/contracts';
import type { Fingerprint } from '@edgetune/temporal/activities';

/** Architecture names as /proc/cpuinfo-based profiles spell them. */
export function normalizeArch(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
    case 'amd64':
    case 'x86_64':
      return 'x86_64';
    case 'arm64':
    case 'aarch64':
      return 'aarch64';
    default:
      return arch;
  }
}

interface CpuInfo {
  model: string;
  flags: string[];
}

/** CPU model and ISA flags from /proc/cpuinfo (x86 "flags", ARM "Features"); os.cpus() as fallback. */
export function readCpuInfo(text?: string): CpuInfo {
  let raw = text;
  if (raw === undefined) {
    try {
      raw = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      raw = '';
    }
  }
  let model = '';
  let flags: string[] = [];
  for (const line of raw.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (!model && (key === 'model name' || key === 'hardware' || key === 'cpu model' || key === 'processor' && /[a-z]/i.test(value))) model = value;
    if (!flags.length && (key === 'flags' || key === 'features') && value) flags = value.split(/\s+/);
  }
  if (!model) model = os.cpus()[0]?.model ?? 'unknown';
  return { model, flags: [...new Set(flags)].sort() };
}

/** "<tag> <commit>" as written by infra/llama-cpp.sh. */
export function llamaCppVersion(dir: string = loadConfig().LLAMA_CPP_DIR): string {
  const file = path.join(dir, 'EDGETUNE_LLAMA_CPP_VERSION');
  if (!existsSync(file)) return 'unknown';
  return readFileSync(file, 'utf8').trim() || 'unknown';
}

/**
 * Profiles from DEVICE_PROFILES (a narrowing: each must exist in the catalog and be one this
 * hardware can run, else the agent refuses to start, saying why) or those the CPU serves.
 */
export function resolveProfiles(arch: string, flags: string[], env: string | undefined = process.env.DEVICE_PROFILES): string[] {
  if (env && env.trim()) {
    const ids = env.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = ids.filter((id) => !findDeviceProfile(id));
    if (unknown.length) {
      throw new Error(`Invalid configuration:\n  DEVICE_PROFILES: unknown device profile(s) ${unknown.join(', ')}`);
    }
    const refused = ids.map((id) => profileRefusal(id, arch, flags)).filter((r): r is string => r !== null);
    if (refused.length) throw new Error(`Invalid configuration:\n  DEVICE_PROFILES: ${refused.join('; ')}`);
    return [...new Set(ids)];
  }
  return profilesServedBy(arch, flags);
}

function readTrimmed(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** GPUs the NVIDIA driver lists (/proc/driver/nvidia/gpus/<bus>/information, "Model: …"). */
export function readAccelerators(root = '/proc/driver/nvidia/gpus'): string[] {
  try {
    return readdirSync(root)
      .map((bus) => /^Model:\s*(.+)$/m.exec(readTrimmed(path.join(root, bus, 'information')) ?? '')?.[1]?.trim())
      .filter((m): m is string => !!m);
  } catch {
    return [];
  }
}

let cached: Fingerprint | null = null;

export function fingerprint(options: { fresh?: boolean } = {}): Fingerprint {
  if (cached && !options.fresh) return cached;
  const config = loadConfig();
  const cpu = readCpuInfo();
  const arch = normalizeArch();
  cached = {
    pool: config.DEVICE_POOL,
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    arch,
    cpuModel: cpu.model,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    isaFlags: cpu.flags,
    memoryBytes: os.totalmem(),
    llamaCppVersion: llamaCppVersion(config.LLAMA_CPP_DIR),
    profiles: resolveProfiles(arch, cpu.flags),
    // Benchmarks under 'powersave' read low: the governor is shown beside the numbers.
    cpuGovernor: readTrimmed('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'),
    accelerators: readAccelerators(),
    runtime: `edgetune-device-agent node ${process.version}`,
  };
  return cached;
}
