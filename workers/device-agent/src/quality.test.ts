import assert from 'node:assert/strict';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixture } from './test-env';
import { storage } from '@edgetune/storage';
import { benchmark, benchSettings } from './benchmark';
import { parseEvalJsonl } from './evalset';
import { chooseContext, evalText, MAX_TEXT_CHARS, MIN_SCORED_POSITIONS, minimumTokens, parseFinalPerplexity, parseKlDivergence } from './quality';
import { quantize } from './quantize';

const F16_KEY = 'test/jobs/kl/model-f16.gguf';
const EVAL_KEY = 'test/jobs/kl/eval.jsonl';
const SHORT_EVAL_KEY = 'test/jobs/kl/short-eval.jsonl';

// The summary llama-perplexity prints after a --kl-divergence run (llama.cpp de3ff81, the release node-llama-cpp ships), with the
// numbers replaced and the lines this parser does not read left out.
const SUMMARY = `====== Perplexity statistics ======
Mean PPL(Q)                   :  12.345678 ±   0.234567
Mean PPL(base)                :  12.000000 ±   0.200000
Cor(ln(PPL(Q)), ln(PPL(base))):  99.12%
Mean ln(PPL(Q)/PPL(base))     :   0.028399 ±   0.001234
Mean PPL(Q)/PPL(base)         :   1.028806 ±   0.001270
Mean PPL(Q)-PPL(base)         :   0.345678 ±   0.015000

====== KL divergence statistics ======
Mean    KLD:   0.031234 ±   0.000456
Maximum KLD:   2.500000
99.9%   KLD:   1.200000
99.0%   KLD:   0.412345
95.0%   KLD:   0.100000
Median  KLD:   0.010000
 1.0%   KLD:  -0.000003
Minimum KLD:  -0.000004

====== Token probability statistics ======
Mean    Δp: -0.123 ± 0.010 %
Same top p: 95.432 ± 0.321 %
`;

test('parses the summary of a --kl-divergence run', () => {
  assert.deepEqual(parseKlDivergence(SUMMARY), {
    klDivergenceMean: 0.031234,
    klDivergenceP99: 0.412345,
    sameTopTokenPercent: 95.432,
    perplexity: 12.345678,
  });
  assert.equal(parseFinalPerplexity('[1]12.1,[2]12.3,\nFinal estimate: PPL = 12.3456 +/- 0.23456\n'), 12.3456);
  // Rounding of the stored 16-bit reference logits can print a tiny negative mean: KL is never below 0.
  assert.equal(parseKlDivergence(SUMMARY.replace('0.031234 ±', '-0.000001 ±')).klDivergenceMean, 0);
  assert.throws(() => parseKlDivergence(SUMMARY.replace(/^Same top p.*$/m, '')), /no same-top-token share/);
});

test('the context per chunk fits the evaluation text', () => {
  assert.deepEqual(chooseContext(10_000, 512, 16, MIN_SCORED_POSITIONS), { contextTokens: 512, chunks: 16 }, 'the chunk cap bounds the work');
  assert.deepEqual(chooseContext(1870, 512, 16, MIN_SCORED_POSITIONS), { contextTokens: 256, chunks: 7 });
  // A short split: small chunks, as many as it takes for llama-perplexity's 100 scored positions.
  assert.deepEqual(chooseContext(300, 512, 16, MIN_SCORED_POSITIONS), { contextTokens: 64, chunks: 4 });
  assert.deepEqual(chooseContext(224, 512, 16, MIN_SCORED_POSITIONS), { contextTokens: 32, chunks: 7 });
  assert.equal(chooseContext(200, 512, 16, MIN_SCORED_POSITIONS), null);
  assert.equal(minimumTokens(512, 16, MIN_SCORED_POSITIONS), 224);
  // Without a scored minimum (the importance matrix): two chunks of 32 suffice.
  assert.deepEqual(chooseContext(100, 512, 64), { contextTokens: 32, chunks: 3 });
  assert.equal(chooseContext(63, 512, 64), null);
  assert.equal(minimumTokens(512, 64), 64);
  // The text given to the tool is bounded whatever the split's size.
  const big = Array.from({ length: 20_000 }, () => ({ prompt: [{ role: 'user', content: 'x'.repeat(100) }], reference: 'y' }));
  assert.ok(evalText(big).length <= MAX_TEXT_CHARS);
});

test('a variant is measured against the F16 reference on the eval text', async () => {
  const store = storage();
  await store.put(F16_KEY, createReadStream(fixture('EDGETUNE_TEST_GGUF')));
  await store.put(EVAL_KEY, createReadStream(fixture('EDGETUNE_TEST_EVAL_JSONL')));
  const settings = { ...benchSettings(), threads: Number(process.env.BENCH_THREADS ?? 1), repetitions: 1, ttftRuns: 1, warmup: 0, evalLimit: 2, qualityContextTokens: 128 };
  const measure = async (quantization: 'F16' | 'Q4_0') => {
    const q = await quantize({ jobId: 'job-kl', device: 'x86_64-avx2', sourceKey: F16_KEY, quantization, outputPrefix: 'test/jobs/kl/variants' });
    return benchmark({ jobId: 'job-kl', device: 'x86_64-avx2', modelKey: q.key, evalKey: EVAL_KEY, maxNewTokens: 2, referenceKey: F16_KEY }, {}, settings);
  };
  const q4 = await measure('Q4_0');
  const f16 = await measure('F16');
  console.log(JSON.stringify({ q4: q4.quality, f16: f16.quality }));
  for (const b of [q4, f16]) {
    assert.ok(b.quality, `quality measured (${b.qualitySkipped ?? ''})`);
    assert.equal(b.quality.reference, 'F16');
    assert.equal(b.quality.contextTokens, 128);
    assert.ok(b.quality.chunks >= 2 && b.quality.chunks <= settings.qualityMaxChunks);
    assert.ok(b.quality.evalTokens >= b.quality.chunks * b.quality.contextTokens);
    assert.ok(b.quality.perplexity > 0 && b.quality.referencePerplexity > 0 && b.quality.perplexityRatio > 0);
    assert.ok(b.quality.sameTopTokenPercent >= 0 && b.quality.sameTopTokenPercent <= 100);
    assert.ok(b.quality.klDivergenceP99 >= 0 && b.quality.klDivergenceMean >= 0);
  }
  // The same weights as the reference: the distributions agree up to the stored logits' rounding.
  assert.ok(f16.quality!.klDivergenceMean < 1e-4, `F16 vs itself: ${f16.quality!.klDivergenceMean}`);
  assert.ok(f16.quality!.sameTopTokenPercent > 99.9);
  // 4-bit weights move the distributions further than 16-bit ones.
  assert.ok(q4.quality!.klDivergenceMean > f16.quality!.klDivergenceMean, 'Q4_0 diverges more than F16');
  assert.ok(Math.abs(f16.quality!.perplexityRatio - 1) < 1e-6, `F16 perplexity ratio ${f16.quality!.perplexityRatio}`);
  assert.equal(q4.quality!.referencePerplexity, f16.quality!.referencePerplexity);
  // The reference's logits were computed once and reused for the second variant.
  assert.equal(readdirSync(process.env.EDGETUNE_TOOL_CACHE_DIR!).filter((n) => n.endsWith('.kld')).length, 1);
});

test('an eval split too short to score says so instead of failing the benchmark', async () => {
  const store = storage();
  await store.put(F16_KEY, createReadStream(fixture('EDGETUNE_TEST_GGUF')));
  const first = readFileSync(fixture('EDGETUNE_TEST_EVAL_JSONL'), 'utf8').split('\n')[0]!;
  assert.equal(parseEvalJsonl(first).length, 1);
  await store.put(SHORT_EVAL_KEY, `${first}\n`);
  const q = await quantize({ jobId: 'job-kl', device: 'x86_64-avx2', sourceKey: F16_KEY, quantization: 'Q8_0', outputPrefix: 'test/jobs/kl/variants' });
  const b = await benchmark(
    { jobId: 'job-kl', device: 'x86_64-avx2', modelKey: q.key, evalKey: SHORT_EVAL_KEY, maxNewTokens: 2, referenceKey: F16_KEY },
    {},
    { ...benchSettings(), threads: 1, repetitions: 1, ttftRuns: 1, warmup: 0 },
  );
  assert.equal(b.quality, undefined);
  assert.match(b.qualitySkipped ?? '', /the evaluation split has \d+ tokens; quality against F16 needs at least 224/);
});
