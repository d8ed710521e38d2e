import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { jobSettings, type JobSettings } from '@edgetune/contracts';
import { storage } from '@edgetune/storage';
import { CALIBRATION_EXAMPLES, conversationText, MAX_EXAMPLE_CHARS } from './calibration';
import { prepareDataset, trainerSettings } from './plan';

// A private object store for this file (read lazily by storage() on first use).
process.env.STORAGE_URL = `file://${mkdtempSync(path.join(tmpdir(), 'edgetune-plan-'))}`;

const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] }));
const read = async (key: string) => (await text(await storage().get(key))).split('\n').filter(Boolean);

/** The split as first written (everything in memory, full sort): the streaming one must match it. */
function referenceSplit(all: string[], seed: number): Set<number> {
  const nEval = Math.min(200, Math.max(1, Math.round(all.length * 0.1)));
  const rank = (l: string, i: number) => createHash('sha256').update(`${seed}:${i}:${l}`).digest('hex');
  const order = all.map((l, i) => ({ i, r: rank(l, i) })).sort((a, b) => (a.r < b.r ? -1 : 1));
  return new Set(order.slice(0, nEval).map((o) => o.i));
}

test('the seeded split streams, matches the in-memory reference, and is reproducible', async () => {
  for (const n of [2, 37, 1500, 2600]) {
    const all = lines(n);
    await storage().put(`t/${n}.jsonl`, `\n${all.join('\n')}\n\n`);
    const p = await prepareDataset({ prefix: `jobs/${n}`, trainingFileKey: `t/${n}.jsonl`, validationFileKey: null, seed: 7 });
    const held = referenceSplit(all, 7);
    assert.equal(p.evalExamples, held.size, `n=${n}`);
    assert.equal(p.trainExamples, n - held.size);
    assert.ok(p.heldOutFromTraining);
    assert.equal(p.heldOutNearDuplicates, 0, 'distinct prompts have no near-duplicates');
    assert.deepEqual(await read(p.evalKey), all.filter((_, i) => held.has(i)));
    assert.deepEqual(await read(p.trainKey), all.filter((_, i) => !held.has(i)));
    const again = await prepareDataset({ prefix: `jobs/${n}b`, trainingFileKey: `t/${n}.jsonl`, validationFileKey: null, seed: 7 });
    assert.deepEqual(await read(again.evalKey), await read(p.evalKey));
  }
  assert.equal((await prepareDataset({ prefix: 'jobs/big', trainingFileKey: 't/2600.jsonl', validationFileKey: null, seed: 7 })).evalExamples, 200);
  await storage().put('t/one.jsonl', lines(1)[0] + '\n');
  await assert.rejects(prepareDataset({ prefix: 'jobs/one', trainingFileKey: 't/one.jsonl', validationFileKey: null, seed: 1 }), /at least 2 examples/);
});

// A pseudo-random word stream, so that prompts differ as real ones do.
function words(seed: number, n: number): string[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return `w${x % 5000}`;
  });
}
const chatLine = (user: string, answer: string, system?: string) =>
  JSON.stringify({ messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: user }, { role: 'assistant', content: answer }] });

test('held out: near-duplicate clusters stay on one side of the split', async () => {
  // 40 templates of 10 phrasings each: one slot word changes within a template.
  const all: string[] = [];
  const template: number[] = [];
  for (let t = 0; t < 40; t++) {
    const body = words(t + 1, 8);
    for (let v = 0; v < 10; v++) {
      all.push(chatLine([...body.slice(0, 4), `slot${t}x${v}`, ...body.slice(4)].join(' '), `label${t % 4}`, 'Route the ticket.'));
      template.push(t);
    }
  }
  await storage().put('nd/templates.jsonl', all.join('\n'));
  const p = await prepareDataset({ prefix: 'jobs/nd1', trainingFileKey: 'nd/templates.jsonl', validationFileKey: null, seed: 3 });
  const evalSet = new Set(await read(p.evalKey));
  assert.equal(p.evalExamples, 40);
  assert.equal(p.trainExamples, 360);
  assert.equal(p.heldOutNearDuplicates, 0, 'every held-out template is wholly held out');
  for (let t = 0; t < 40; t++) {
    const inEval = all.filter((l, i) => template[i] === t && evalSet.has(l)).length;
    assert.ok(inEval === 0 || inEval === 10, `template ${t} is split ${inEval}/10`);
  }
  // The same file, split the old way (the smallest ranks), would have leaked: the reference split cuts templates.
  const naive = referenceSplit(all, 3);
  assert.ok([...naive].some((i) => !evalSet.has(all[i])), 'the cluster-aware split differs from the plain one');

  // Exact duplicates are the commonest near-duplicates: each pair travels together.
  const pairs = Array.from({ length: 150 }, (_, i) => chatLine(words(1000 + i, 6).join(' '), 'ok')).flatMap((l) => [l, l]);
  await storage().put('nd/dups.jsonl', pairs.join('\n'));
  const d = await prepareDataset({ prefix: 'jobs/nd2', trainingFileKey: 'nd/dups.jsonl', validationFileKey: null, seed: 3 });
  assert.equal(d.heldOutNearDuplicates, 0);
  const train = new Set(await read(d.trainKey));
  for (const l of await read(d.evalKey)) assert.ok(!train.has(l), 'a held-out line is not also in training');
  assert.equal(d.evalExamples % 2, 0);
});

test('held out: a file of a few large templates is split anyway, and the leak is counted', async () => {
  // 3 templates of 100 phrasings: every cluster is larger than half the eval split, so none moves.
  const all = Array.from({ length: 300 }, (_, i) => chatLine([...words((i % 3) + 1, 7), `slot${i}`].join(' '), `label${i % 3}`));
  await storage().put('nd/few.jsonl', all.join('\n'));
  const p = await prepareDataset({ prefix: 'jobs/nd3', trainingFileKey: 'nd/few.jsonl', validationFileKey: null, seed: 5 });
  assert.equal(p.evalExamples, 30);
  assert.equal(p.heldOutNearDuplicates, 30, 'every held-out example has a near-duplicate in training');
  assert.deepEqual(await read(p.evalKey), all.filter((_, i) => referenceSplit(all, 5).has(i)), 'the split falls back to the smallest ranks');
});

test('held out: a shared instruction or system prompt does not make examples near-duplicates', async () => {
  const instruction = 'Classify the sentiment of the following product review as positive negative or neutral and answer with one word only';
  const all = Array.from({ length: 200 }, (_, i) => chatLine(`${instruction}: ${words(7000 + i, 6).join(' ')}`, i % 2 ? 'positive' : 'negative', 'You are a careful and helpful assistant for customer feedback'));
  await storage().put('nd/instr.jsonl', all.join('\n'));
  const p = await prepareDataset({ prefix: 'jobs/nd4', trainingFileKey: 'nd/instr.jsonl', validationFileKey: null, seed: 9 });
  assert.equal(p.heldOutNearDuplicates, 0);
  assert.deepEqual(await read(p.evalKey), all.filter((_, i) => referenceSplit(all, 9).has(i)), 'no clusters: the plain smallest ranks');
});

test('with a validation file, it is the eval split and nothing is held out', async () => {
  await storage().put('v/train.jsonl', lines(5).join('\n'));
  await storage().put('v/eval.jsonl', lines(3).join('\r\n') + '\r\n');
  const p = await prepareDataset({ prefix: 'jobs/v', trainingFileKey: 'v/train.jsonl', validationFileKey: 'v/eval.jsonl', seed: 1 });
  assert.deepEqual([p.trainExamples, p.evalExamples, p.heldOutFromTraining, p.heldOutNearDuplicates], [5, 3, false, undefined]);
  assert.deepEqual(await read(p.evalKey), lines(3));
});

test('preference data: the eval split is also written as chat (prompt + chosen) for the device benchmarks', async () => {
  const pairs = [
    { prompt: 'Route: card declined', chosen: 'billing', rejected: 'login' },
    { prompt: [{ role: 'system', content: 'Route.' }, { role: 'user', content: 'parcel lost' }], chosen: [{ role: 'assistant', content: 'shipping' }], rejected: 'refund' },
    { prompt: 'Route: locked out', chosen: 'login', rejected: 'billing' },
  ].map((r) => JSON.stringify(r));
  await storage().put('p/train.jsonl', pairs.join('\n'));
  await storage().put('p/eval.jsonl', pairs.slice(0, 2).join('\n'));
  const p = await prepareDataset({ prefix: 'jobs/p', trainingFileKey: 'p/train.jsonl', validationFileKey: 'p/eval.jsonl', seed: 1, preference: true });
  assert.deepEqual(await read(p.evalKey), pairs.slice(0, 2), 'the trainer gets the pairs themselves');
  assert.ok(p.chatEvalKey);
  assert.deepEqual((await read(p.chatEvalKey)).map((l) => JSON.parse(l)), [
    { messages: [{ role: 'user', content: 'Route: card declined' }, { role: 'assistant', content: 'billing' }] },
    { messages: [{ role: 'system', content: 'Route.' }, { role: 'user', content: 'parcel lost' }, { role: 'assistant', content: 'shipping' }] },
  ]);
  const held = await prepareDataset({ prefix: 'jobs/p2', trainingFileKey: 'p/train.jsonl', validationFileKey: null, seed: 1, preference: true });
  assert.equal((await read(held.chatEvalKey!)).length, held.evalExamples);
  const chat = await prepareDataset({ prefix: 'jobs/c', trainingFileKey: 'v/train.jsonl', validationFileKey: 'v/eval.jsonl', seed: 1 });
  assert.equal(chat.chatEvalKey, undefined, 'chat data needs no second copy');
});

test('the trainer gets the stored settings as they are: the plan fills in none of its own', () => {
  // Values no catalog entry uses, so a default slipped in anywhere would show.
  const stored: JobSettings = { method: 'lora', objective: 'dpo', n_epochs: 7, learning_rate: 3.3e-4, batch_size: 3, lora_rank: 5, lora_alpha: 11, beta: 0.37 };
  assert.deepEqual(trainerSettings(stored, { maxSeqLen: 123, seed: 99 }), {
    method: 'lora', objective: 'dpo', epochs: 7, learningRate: 3.3e-4, batchSize: 3, loraRank: 5, loraAlpha: 11, beta: 0.37, maxSeqLen: 123, seed: 99, gradientCheckpointing: false,
  });
  // The memory plan's gradient checkpointing reaches the trainer.
  assert.equal(trainerSettings(stored, { maxSeqLen: 123, seed: 99, gradientCheckpointing: true }).gradientCheckpointing, true);
  // Supervised jobs carry no beta; the trainer gets none.
  const sft = trainerSettings({ ...stored, objective: 'sft', beta: undefined }, { maxSeqLen: 123, seed: 99 });
  assert.equal('beta' in sft, false);
  // Every field of the stored settings reaches the trainer.
  const full = jobSettings('lfm2-350m', { method: 'full', objective: 'dpo' });
  const out = trainerSettings(full, { maxSeqLen: 1, seed: 1 });
  assert.deepEqual([out.method, out.objective, out.epochs, out.learningRate, out.batchSize, out.loraRank, out.loraAlpha, out.beta],
    [full.method, full.objective, full.n_epochs, full.learning_rate, full.batch_size, full.lora_rank, full.lora_alpha, full.beta]);
});

test('calibration: a bounded, seeded sample of the train split as text, never the held-out examples', async () => {
  const all = lines(2600);
  await storage().put('cal/train.jsonl', all.join('\n'));
  const p = await prepareDataset({ prefix: 'jobs/cal', trainingFileKey: 'cal/train.jsonl', validationFileKey: null, seed: 7 });
  assert.ok(p.calibrationKey);
  const blocks = (await text(await storage().get(p.calibrationKey))).split('\n\n').filter(Boolean);
  assert.equal(blocks.length, CALIBRATION_EXAMPLES, 'bounded');
  const evalQuestions = new Set((await read(p.evalKey)).map((l) => JSON.parse(l).messages[0].content as string));
  const picked = blocks.map((b) => Number(b.split('\n')[0].slice(1)));
  assert.ok(picked.every((i) => !evalQuestions.has(`q${i}`)), 'held-out examples are not calibrated on');
  assert.deepEqual(blocks[0].split('\n'), [`q${picked[0]}`, `a${picked[0]}`], 'every turn of the conversation');
  assert.deepEqual(picked, [...picked].sort((a, b) => a - b), 'in file order');
  // Uniform over the file, not its first lines.
  assert.ok(picked.filter((i) => i >= 1300).length > CALIBRATION_EXAMPLES / 3, 'the second half of the file is sampled');
  const again = await prepareDataset({ prefix: 'jobs/cal2', trainingFileKey: 'cal/train.jsonl', validationFileKey: null, seed: 7 });
  assert.equal(await text(await storage().get(again.calibrationKey!)), blocks.map((b) => `${b}\n\n`).join(''), 'reproducible');
  // Preference pairs calibrate on prompt and chosen answer; a long example is cut.
  assert.equal(conversationText(JSON.stringify({ prompt: [{ role: 'user', content: 'p' }], chosen: [{ role: 'assistant', content: 'c' }], rejected: 'r' })), 'p\nc');
  assert.equal(conversationText(JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(10_000) }] })).length, MAX_EXAMPLE_CHARS);
});
