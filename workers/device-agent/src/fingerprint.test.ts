import assert from 'node:assert/strict';
import { test } from 'node:test';
import './test-env';
import { fingerprint, normalizeArch, readCpuInfo, resolveProfiles } from './fingerprint';

test('fingerprint describes this machine', () => {
  const fp = fingerprint({ fresh: true });
  assert.ok(['x86_64', 'aarch64'].includes(fp.arch) || fp.arch.length > 0);
  assert.equal(fp.arch, normalizeArch(process.arch));
  assert.ok(fp.cores >= 1);
  assert.ok(fp.memoryBytes > 64 * 1024 * 1024);
  assert.ok(fp.cpuModel.length > 0 && fp.cpuModel !== 'unknown');
  assert.ok(fp.hostname.length > 0);
  assert.ok(fp.os.length > 0);
  assert.ok(Array.isArray(fp.isaFlags));
  assert.ok(fp.pool.length > 0);
  assert.match(fp.llamaCppVersion, /\S/);
  if (fp.arch === 'x86_64' && fp.isaFlags.includes('avx2') && fp.isaFlags.includes('fma')) assert.ok(fp.profiles.includes('x86_64-avx2'));
  assert.ok(JSON.stringify(fp).length < 16 * 1024, 'fingerprint stays a small payload');
});

test('arch names are normalized', () => {
  assert.equal(normalizeArch('x64'), 'x86_64');
  assert.equal(normalizeArch('arm64'), 'aarch64');
});

test('ARM /proc/cpuinfo Features are read as ISA flags', () => {
  const info = readCpuInfo('processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd asimddp i8mm\nCPU implementer\t: 0x41\n\nHardware\t: Qualcomm SM8550\n');
  assert.deepEqual(info.flags, ['asimd', 'asimddp', 'fp', 'i8mm']);
  assert.equal(info.model, 'Qualcomm SM8550');
});

test('DEVICE_PROFILES narrows detection, must name catalog profiles, and only ones the hardware runs', () => {
  assert.deepEqual(resolveProfiles('aarch64', ['asimddp', 'i8mm'], undefined), ['arm64-phone', 'arm64-automotive']);
  assert.deepEqual(resolveProfiles('aarch64', ['asimddp', 'i8mm'], ' arm64-phone'), ['arm64-phone']);
  assert.throws(() => resolveProfiles('x86_64', [], 'x86_64-avx2,toaster-9000'), /DEVICE_PROFILES.*toaster-9000/s);
  // An arm64 profile on x86, and AVX2 claimed by a CPU that does not report it: refused with the reason.
  assert.throws(() => resolveProfiles('x86_64', ['avx2', 'fma'], 'arm64-phone'), /arm64-phone needs an aarch64 CPU, this machine is x86_64/);
  assert.throws(() => resolveProfiles('x86_64', ['sse4_2'], 'x86_64-avx2'), /x86_64-avx2 needs the CPU flags avx2, fma/);
});
