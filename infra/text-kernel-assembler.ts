import wabtInit from 'wabt';

/** The WebAssembly bytes of the text kernel's source (SIMD and bulk memory enabled). */
export async function assembleTextKernel(source: string): Promise<Buffer> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('text-kernel.wat', source, { simd: true, bulk_memory: true });
  try {
    mod.validate();
    return Buffer.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
