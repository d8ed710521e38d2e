/**
 * The smoke test a model must pass before it stays installed: node-llama-cpp loads it, formats a
 * chat turn with the model's own chat template (read from the GGUF) and generates a few tokens.
 */
import { getLlama, LlamaChatSession, type Llama } from 'node-llama-cpp';

export interface SmokeResult {
  ok: boolean;
  /** The chat template node-llama-cpp formatted the prompt with (the model's own, from its GGUF). */
  template?: string;
  latencyMs: number;
  output: string;
  error: string | null;
}

let llama: Promise<Llama> | null = null;

export async function smokeTest(modelPath: string, prompt = 'Say hello.', maxTokens = 8): Promise<SmokeResult> {
  const started = performance.now();
  try {
    // Prebuilt binaries only: a device never compiles llama.cpp on its own.
    llama ??= getLlama({ build: 'never', gpu: false, logLevel: 'error' as never });
    const model = await (await llama).loadModel({ modelPath });
    try {
      const context = await model.createContext({ contextSize: 512 });
      const session = new LlamaChatSession({ contextSequence: context.getSequence() });
      let tokens = 0;
      const output = await session.prompt(prompt, { maxTokens, temperature: 0, onToken: (t) => (tokens += t.length) });
      const latencyMs = performance.now() - started;
      const template = session.chatWrapper.wrapperName;
      if (tokens === 0) return { ok: false, template, latencyMs, output, error: 'the model generated no tokens' };
      return { ok: true, template, latencyMs, output, error: null };
    } finally {
      await model.dispose();
    }
  } catch (e) {
    return { ok: false, latencyMs: performance.now() - started, output: '', error: `smoke test: ${(e as Error).message}` };
  }
}
