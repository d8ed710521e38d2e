import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import OpenAI from 'openai';
import { artifactsDir } from '../playwright.config';
import { examples, malformedJsonl, toJsonl } from './dataset';
import { verifyFromOutbox } from './outbox';

const terminal = ['succeeded', 'failed', 'cancelled'];
const JOB_TIMEOUT_MS = Number(process.env.E2E_JOB_TIMEOUT_MS ?? 12 * 60_000);

async function upload(page: Page, name: string, content: string) {
  await page.getByTestId('upload-input').setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(content, 'utf8') });
  await page.getByTestId('upload-submit').click();
}

test('a new company signs up, fine-tunes lfm2-tiny and downloads per-device GGUF files', async ({ page, baseURL }) => {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const email = `e2e-${stamp}@example.com`;
  const password = `pw-${stamp}-Secret!`;
  const orgName = `E2E Robotics ${stamp}`;
  let apiKey = '';
  let trainingFileId = '';
  let validationFileId = '';
  let trainingDatasetId = '';
  let validationDatasetId = '';
  let jobId = '';

  await test.step('sign up', async () => {
    await page.goto('/signup');
    await page.getByTestId('signup-org').fill(orgName);
    await page.getByTestId('signup-name').fill('E2E Tester');
    await page.getByTestId('signup-email').fill(email);
    await page.getByTestId('signup-password').fill(password);
    await page.getByTestId('signup-submit').click();
    await page.waitForURL(/\/jobs$/);
    await expect(page.getByTestId('nav-org')).toHaveText(orgName);
  });

  await test.step('an unverified address cannot create API keys; the link in the e-mail verifies it', async () => {
    await page.getByTestId('nav-apikeys').click();
    await page.waitForURL(/\/api-keys$/);
    await expect(page.getByTestId('apikey-create-reason')).toContainText(/Verify your e-mail address first/);
    await verifyFromOutbox(page, email);
  });

  await test.step('create an API key (shown once)', async () => {
    await page.goto('/jobs');
    await page.getByTestId('nav-apikeys').click();
    await page.waitForURL(/\/api-keys$/);
    await page.getByTestId('apikey-name').fill('e2e key');
    await page.getByTestId('apikey-create').click();
    const secret = page.getByTestId('apikey-secret');
    await expect(secret).toBeVisible();
    apiKey = (await secret.textContent())?.trim() ?? '';
    expect(apiKey).toMatch(/^et_\w+/);
    await expect(page.getByTestId('apikey-row').filter({ hasText: 'e2e key' })).toHaveCount(1);
    // The secret is never shown again.
    await page.reload();
    await expect(page.getByTestId('apikey-row').filter({ hasText: 'e2e key' })).toHaveCount(1);
    await expect(page.getByTestId('apikey-secret')).toHaveCount(0);
    await expect(page.locator('body')).not.toContainText(apiKey);
  });

  await test.step('a malformed JSONL is rejected with the line and the reason', async () => {
    await page.getByTestId('nav-datasets').click();
    await page.waitForURL(/\/datasets$/);
    await upload(page, 'broken.jsonl', malformedJsonl());
    const err = page.getByTestId('upload-error');
    await expect(err).toBeVisible();
    await expect(err).toContainText(/line 2/i);
    await expect(err).toContainText(/json/i);
  });

  await test.step('upload the training and validation files', async () => {
    await upload(page, 'tickets-train.jsonl', toJsonl(examples(200, 1)));
    const result = page.getByTestId('upload-result');
    await expect(result).toContainText('tickets-train.jsonl');
    trainingFileId = (await result.getAttribute('data-file-id')) ?? '';
    trainingDatasetId = (await result.getAttribute('data-dataset-id')) ?? '';
    expect(trainingFileId).toMatch(/^file-/);

    await upload(page, 'tickets-val.jsonl', toJsonl(examples(30, 2)));
    await expect(result).toContainText('tickets-val.jsonl');
    validationFileId = (await result.getAttribute('data-file-id')) ?? '';
    validationDatasetId = (await result.getAttribute('data-dataset-id')) ?? '';
    expect(validationFileId).toMatch(/^file-/);
    expect(validationFileId).not.toBe(trainingFileId);

    // Each file without a dataset name becomes version 1 of a dataset named after it.
    await expect(page.locator(`[data-testid="dataset-row"][data-file-id="${trainingFileId}"]`)).toContainText('tickets-train');
    await expect(page.locator(`[data-testid="dataset-row"][data-file-id="${validationFileId}"]`)).toContainText('tickets-val');
  });

  await test.step('start a job on lfm2-tiny with the default targets', async () => {
    await page.getByTestId('nav-jobs').click();
    await page.waitForURL(/\/jobs$/);
    await page.getByTestId('new-job').click();
    await page.waitForURL(/\/jobs\/new$/);
    await page.getByTestId('job-model').selectOption('lfm2-tiny');
    // Data by dataset; its latest version is chosen by default.
    await page.getByTestId('job-training-dataset').selectOption(trainingDatasetId);
    await expect(page.getByTestId('job-training-file')).toHaveValue(trainingFileId);
    await page.getByTestId('job-validation-dataset').selectOption(validationDatasetId);
    await expect(page.getByTestId('job-validation-file')).toHaveValue(validationFileId);
    // Default targets: no device box ticked = every device an online pool serves.
    await expect(page.getByTestId('device-checkbox').first()).toBeVisible();
    for (const box of await page.getByTestId('device-checkbox').all()) await expect(box).not.toBeChecked();
    // Every candidate quantization is ticked by default; narrow to three (F16 is the reference).
    for (const box of await page.getByTestId('quant-checkbox').all()) await expect(box).toBeChecked();
    for (const q of ['Q6_K', 'Q5_K_M', 'Q4_0', 'IQ4_XS']) await page.locator(`[data-testid="quant-checkbox"][data-quant="${q}"]`).uncheck();
    // A size budget on every device: 4 MiB, which the F16 and Q8_0 files of lfm2-tiny exceed.
    await page.locator('[data-testid="budget-input"][data-budget="max_size_bytes"]:not([data-device])').fill('4');
    // And one device's own override: a time-to-first-token bound every variant meets.
    const deviceBudgets = page.getByTestId('device-budgets').first();
    const overridden = (await deviceBudgets.getAttribute('data-device')) ?? '';
    await deviceBudgets.locator('summary').click();
    await deviceBudgets.locator('[data-testid="budget-input"][data-budget="max_ttft_ms"]').fill('100000');
    await page.getByTestId('job-submit').click();
    // Either the job page opens or the form says why the job could not start.
    const createError = page.getByTestId('job-create-error');
    const outcome = await Promise.race(
      [
        page.waitForURL(/\/jobs\/ftjob-[^/]+$/).then(() => 'created' as const),
        createError.waitFor({ state: 'visible', timeout: 60_000 }).then(() => 'error' as const),
      ].map((p) => p.catch(() => 'timeout' as const)),
    );
    if (outcome !== 'created') throw new Error(`job was not created (${outcome}): ${(await createError.textContent().catch(() => '')) ?? ''}`);
    jobId = page.url().split('/').pop() ?? '';
    await expect(page.getByTestId('job-id')).toHaveText(jobId);
    await expect(page.getByTestId('job-quantizations')).toHaveText('F16, Q8_0, Q4_K_M');
    await expect(page.getByTestId('job-budgets')).toHaveText(`max_size_bytes 4.00 MiB${overridden}: max_ttft_ms 100,000`);
  });

  await test.step('watch the job until it succeeds', async () => {
    const status = page.getByTestId('job-status');
    const started = Date.now();
    const seen = new Set<string>();
    // Events on the page while the job was still running: proves they stream in live.
    let liveEvents = 0;
    for (;;) {
      const s = ((await status.textContent()) ?? '').trim();
      if (!seen.has(s)) {
        seen.add(s);
        console.log(`[e2e] ${((Date.now() - started) / 1000).toFixed(0)}s status=${s}`);
      }
      if (terminal.includes(s)) break;
      liveEvents = Math.max(liveEvents, await page.getByTestId('job-event').count());
      if (Date.now() - started > JOB_TIMEOUT_MS) throw new Error(`job ${jobId} still '${s}' after ${JOB_TIMEOUT_MS / 1000}s`);
      await page.waitForTimeout(2_000);
    }
    const final = ((await status.textContent()) ?? '').trim();
    if (final !== 'succeeded') {
      await page.screenshot({ path: path.join(artifactsDir, 'failed-job.png'), fullPage: true });
      const why = (await page.getByTestId('job-error').textContent().catch(() => null)) ?? '';
      throw new Error(`job ${jobId} ended ${final}: ${why}`);
    }
    // Events streamed in while it ran; the log has training steps with their loss.
    expect(liveEvents, 'events shown before the job ended').toBeGreaterThan(0);
    await expect(page.getByTestId('job-events')).toContainText(/loss/i);
  });

  await test.step('stage timings, evaluation and per-device variants', async () => {
    const stageRows = page.getByTestId('stage-row');
    const stages = new Set(await stageRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-stage') ?? '')));
    for (const s of ['train', 'evaluate', 'export', 'quantize', 'benchmark', 'publish']) expect(stages, `stage ${s}`).toContain(s);
    for (const s of ['train', 'evaluate', 'export', 'publish']) {
      await expect(page.locator(`[data-testid="stage-row"][data-stage="${s}"]`).first()).toHaveAttribute('data-state', 'succeeded');
    }
    for (const row of await stageRows.all()) {
      await expect(row).not.toHaveAttribute('data-state', 'running');
      await expect(row.getByTestId('stage-duration')).toHaveText(/\d/);
    }
    await expect(page.getByTestId('eval-metrics')).toBeVisible();

    const variants = page.getByTestId('variant-row');
    await expect(variants.first()).toBeVisible();
    const rows = await variants.evaluateAll((rs) =>
      rs.map((r) => ({
        device: r.getAttribute('data-device') ?? '',
        quant: r.getAttribute('data-quant') ?? '',
        sha: r.querySelector('[data-testid="variant-sha256"]')?.textContent?.trim() ?? '',
        kl: r.querySelector('[data-testid="variant-kl"]')?.textContent?.trim() ?? '',
        sameTop: r.querySelector('[data-testid="variant-same-top"]')?.textContent?.trim() ?? '',
        imatrix: r.querySelector('[data-testid="variant-imatrix"]') !== null,
        selected: r.getAttribute('data-selected') === 'true',
      })),
    );
    const byDevice = new Map<string, typeof rows>();
    for (const r of rows) byDevice.set(r.device, [...(byDevice.get(r.device) ?? []), r]);
    // Every target device of the job (the default: every device an online pool serves) has its variants.
    const targets = ((await page.getByTestId('job-target-devices').textContent()) ?? '').split(',').map((d) => d.trim()).filter(Boolean);
    expect(targets.length, 'target devices').toBeGreaterThan(0);
    expect([...byDevice.keys()].sort(), 'devices with variants').toEqual(targets.sort());
    for (const [device, list] of byDevice) {
      expect(list.map((r) => r.quant).sort(), `quantizations for ${device}: the ones the form kept`).toEqual(['F16', 'Q4_K_M', 'Q8_0']);
      for (const r of list) {
        expect(r.sha, `sha256 of ${device} ${r.quant}`).toMatch(/^[0-9a-f]{64}$/);
        // Quality against the F16 reference, measured on the evaluation split.
        expect(r.kl, `KL vs F16 of ${device} ${r.quant}`).toMatch(/^[0-9.e+-]+ \/ [0-9.e+-]+$/);
        expect(r.sameTop, `same top token of ${device} ${r.quant}`).toMatch(/^[0-9.]+%$/);
        expect(r.imatrix, `${device} ${r.quant} quantized with the importance matrix of the training data`).toBe(r.quant === 'Q4_K_M');
      }
      expect(list.filter((r) => r.selected).map((r) => r.quant), `selected variant for ${device}: the only one within 4 MiB`).toEqual(['Q4_K_M']);
      // The chart of the candidates and why the winner won.
      const chart = page.locator(`[data-testid="selection-chart"][data-device="${device}"]`).first();
      await expect(chart).toBeVisible();
      await expect(chart.locator('[data-testid="selection-point"][data-quant="Q4_K_M"]')).toHaveAttribute('data-selected', 'true');
      await expect(chart.locator('[data-testid="selection-point"][data-quant="Q4_K_M"]')).toHaveAttribute('data-front', 'true');
      for (const q of ['F16', 'Q8_0']) await expect(chart.locator(`[data-testid="selection-point"][data-quant="${q}"]`)).toHaveAttribute('data-front', 'false');
      await expect(chart.getByTestId('selection-reason')).toContainText('Q4_K_M: the smallest file');
      await expect(chart.getByTestId('selection-reason')).toContainText('2 broke a budget (F16: max_size_bytes; Q8_0: max_size_bytes)');
    }
    console.log(`[e2e] variants: ${rows.map((r) => `${r.device}/${r.quant}${r.selected ? '*' : ''}`).join(', ')}`);

    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: path.join(artifactsDir, 'finished-job.png'), fullPage: true });
  });

  await test.step('download a variant from the page (full and ranged)', async () => {
    const row = page.getByTestId('variant-row').first();
    const href = await row.getByTestId('variant-download').getAttribute('href');
    expect(href).toBeTruthy();
    const url = new URL(href!, page.url()).toString();
    const expectedSha = ((await row.getByTestId('variant-sha256').textContent()) ?? '').trim();
    const expectedSize = Number(await row.getAttribute('data-size'));

    // page.request shares the browser's cookies, like clicking the link.
    const full = await page.request.get(url);
    expect(full.status()).toBe(200);
    const body = await full.body();
    expect(body.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(expectedSize, 'data-size of the variant row').toBeGreaterThan(0);
    expect(body.length).toBe(expectedSize);
    expect(createHash('sha256').update(body).digest('hex')).toBe(expectedSha);

    const ranged = await page.request.get(url, { headers: { Range: 'bytes=0-3' } });
    expect(ranged.status()).toBe(206);
    expect((await ranged.body()).toString('latin1')).toBe('GGUF');
    expect(ranged.headers()['content-range']).toMatch(new RegExp(`^bytes 0-3/${body.length}$`));
  });

  await test.step('the portal API key works with the official openai client', async () => {
    const client = new OpenAI({ apiKey, baseURL: `${baseURL}/v1`, maxRetries: 0 });
    const ids: string[] = [];
    for await (const job of client.fineTuning.jobs.list({ limit: 20 })) ids.push(job.id);
    expect(ids).toContain(jobId);
    const job = await client.fineTuning.jobs.retrieve(jobId);
    expect(job.status).toBe('succeeded');
    expect(job.training_file).toBe(trainingFileId);
    expect(job.fine_tuned_model).toBeTruthy();
  });
});
