import { z } from 'zod';

/**
 * The GGUF types a model may ship in, as llama-quantize names them, best quality first. F16 is
 * the reference every other variant's quality is measured against; IQ4_XS is an i-quant (4.25
 * bits per weight) that the CPU runtime supports on x86-64 and ARM.
 */
export const quantizations = ['F16', 'Q8_0', 'Q6_K', 'Q5_K_M', 'Q4_K_M', 'Q4_0', 'IQ4_XS'] as const;
export const quantizationSchema = z.enum(quantizations);
export type Quantization = (typeof quantizations)[number];

/**
 * Device profiles: the kinds of hardware a customer targets. A hardware pool serves a profile
 * when its fingerprint (architecture + ISA flags) matches, so every number shown for a profile
 * was measured on hardware of that kind.
 */
export interface DeviceProfile {
  id: string;
  name: string;
  description: string;
  arch: 'x86_64' | 'aarch64';
  /** CPU flags (as in /proc/cpuinfo) the pool's CPUs must all have. */
  requiredFlags: string[];
  /** The candidates a job measures on this profile, best quality first (a job may narrow them). */
  quantizations: Quantization[];
  /** Default budgets used to select a variant when the job names none. */
  defaultBudget: { maxSizeBytes: number; maxPeakRssBytes: number };
}

const GiB = 1024 ** 3;

export const deviceProfiles: DeviceProfile[] = [
  {
    id: 'x86_64-avx2',
    name: 'x86-64 laptop / desktop (AVX2)',
    description: 'Intel and AMD CPUs with AVX2 and FMA: most laptops, desktops and edge boxes since 2015.',
    arch: 'x86_64',
    requiredFlags: ['avx2', 'fma'],
    quantizations: [...quantizations],
    defaultBudget: { maxSizeBytes: 4 * GiB, maxPeakRssBytes: 6 * GiB },
  },
  {
    id: 'arm64-phone',
    name: 'ARM64 phone (dotprod)',
    description: 'ARMv8.2-A phone and tablet SoCs with the dot-product extension.',
    arch: 'aarch64',
    requiredFlags: ['asimddp'],
    // Q4_0 is repacked at load into the runtime's interleaved ARM layout (dotprod / i8mm kernels).
    quantizations: [...quantizations],
    defaultBudget: { maxSizeBytes: 1 * GiB, maxPeakRssBytes: 1.5 * GiB },
  },
  {
    id: 'arm64-automotive',
    name: 'ARM64 automotive SoC (i8mm)',
    description: 'ARMv8.6-A in-vehicle compute with int8 matrix multiply.',
    arch: 'aarch64',
    requiredFlags: ['asimddp', 'i8mm'],
    quantizations: [...quantizations],
    defaultBudget: { maxSizeBytes: 2 * GiB, maxPeakRssBytes: 3 * GiB },
  },
];

export function findDeviceProfile(id: string): DeviceProfile | undefined {
  return deviceProfiles.find((d) => d.id === id);
}

/** Profiles a machine with this architecture and these CPU flags can honestly measure. */
export function profilesServedBy(arch: string, flags: string[]): string[] {
  return deviceProfiles.filter((d) => !profileRefusal(d.id, arch, flags)).map((d) => d.id);
}

/**
 * Why a machine of this architecture and these CPU flags cannot measure a profile, or null when
 * it can: a number shown for a profile must come from hardware of that kind.
 */
export function profileRefusal(id: string, arch: string, flags: string[]): string | null {
  const d = findDeviceProfile(id);
  if (!d) return `'${id}' is not a device profile of the catalog`;
  if (d.arch !== arch) return `profile ${id} needs an ${d.arch} CPU, this machine is ${arch}`;
  const have = new Set(flags);
  const missing = d.requiredFlags.filter((f) => !have.has(f));
  if (missing.length) return `profile ${id} needs the CPU flag${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this CPU does not report`;
  return null;
}

/** What a hardware pool reports about itself when its agent starts (stored on the pool's row). */
// Bounded: an organization's agent sends this over the internet.
const short = z.string().max(256);
export const fingerprintSchema = z.object({
  pool: short,
  hostname: short,
  os: short,
  arch: z.string().max(32),
  cpuModel: short,
  cores: z.number().int().min(1).max(4096),
  isaFlags: z.array(z.string().max(64)).max(512),
  memoryBytes: z.number().min(0),
  llamaCppVersion: short,
  /** Device profile ids (the catalog above) this pool measures for. */
  profiles: z.array(z.string().max(64)).max(64),
  /** Linux cpufreq governor of the first CPU ('performance', 'powersave', ...), when readable. */
  cpuGovernor: z.string().max(64).optional(),
  /** GPUs / NPUs the agent found, e.g. "NVIDIA H100 80GB HBM3". */
  accelerators: z.array(short).max(16).optional(),
  /** The agent's own build: "edgetune-device-agent <version> node <version>". */
  runtime: short.optional(),
});
export type Fingerprint = z.infer<typeof fingerprintSchema>;
