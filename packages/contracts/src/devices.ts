import { z } from 'zod';

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
  /** Quantizations tried for this profile, best quality first. */
  quantizations: ('Q8_0' | 'Q6_K' | 'Q5_K_M' | 'Q4_K_M' | 'Q4_0')[];
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
    quantizations: ['Q8_0', 'Q4_K_M'],
    defaultBudget: { maxSizeBytes: 4 * GiB, maxPeakRssBytes: 6 * GiB },
  },
  {
    id: 'arm64-phone',
    name: 'ARM64 phone (dotprod)',
    description: 'ARMv8.2-A phone and tablet SoCs with the dot-product extension.',
    arch: 'aarch64',
    requiredFlags: ['asimddp'],
    quantizations: ['Q8_0', 'Q4_K_M', 'Q4_0'],
    defaultBudget: { maxSizeBytes: 1 * GiB, maxPeakRssBytes: 1.5 * GiB },
  },
  {
    id: 'arm64-automotive',
    name: 'ARM64 automotive SoC (i8mm)',
    description: 'ARMv8.6-A in-vehicle compute with int8 matrix multiply.',
    arch: 'aarch64',
    requiredFlags: ['asimddp', 'i8mm'],
    quantizations: ['Q8_0', 'Q4_K_M'],
    defaultBudget: { maxSizeBytes: 2 * GiB, maxPeakRssBytes: 3 * GiB },
  },
];

export function findDeviceProfile(id: string): DeviceProfile | undefined {
  return deviceProfiles.find((d) => d.id === id);
}

/** Profiles a machine with this architecture and these CPU flags can honestly measure. */
export function profilesServedBy(arch: string, flags: string[]): string[] {
  const have = new Set(flags);
  return deviceProfiles.filter((d) => d.arch === arch && d.requiredFlags.every((f) => have.has(f))).map((d) => d.id);
}

/** What a hardware pool reports about itself when its agent starts (stored on the pool's row). */
export const fingerprintSchema = z.object({
  pool: z.string(),
  hostname: z.string(),
  os: z.string(),
  arch: z.string(),
  cpuModel: z.string(),
  cores: z.number(),
  isaFlags: z.array(z.string()),
  memoryBytes: z.number(),
  llamaCppVersion: z.string(),
  /** Device profile ids (the catalog above) this pool measures for. */
  profiles: z.array(z.string()),
});
export type Fingerprint = z.infer<typeof fingerprintSchema>;
