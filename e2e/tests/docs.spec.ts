import { expect, test } from '@playwright/test';

/** The dataset formats guide is public and shows every format with its example. */
test('dataset formats guide: every format, its field table and example, without signing in', async ({ page }) => {
  await page.goto('/docs/datasets');
  await expect(page).toHaveURL(/\/docs\/datasets$/); // not redirected to /signin
  const formats: { id: string; heading: string; example: string }[] = [
    { id: 'chat', heading: 'Chat JSONL', example: '"tool_calls":[{"id":"call_1","type":"function"' },
    { id: 'prompt-completion', heading: 'Prompt/completion JSONL', example: '"completion":"billing"' },
    { id: 'preference', heading: 'Preference JSONL', example: '"rejected":"There is a meeting."' },
    { id: 'csv', heading: 'CSV (and TSV)', example: 'id,question,answer' },
    { id: 'parquet', heading: 'Parquet', example: '.to_parquet("ratings.parquet"' },
    { id: 'compression', heading: 'gzip and zstd compressed files', example: 'zstd chat.jsonl' },
  ];
  for (const f of formats) {
    const section = page.getByTestId(`docs-format-${f.id}`);
    await expect(section.getByRole('heading', { level: 2 })).toHaveText(f.heading);
    await expect(section.getByTestId(`docs-fields-${f.id}`)).toBeVisible();
    await expect(section.getByTestId(`docs-example-${f.id}`)).toContainText(f.example);
  }
  await expect(page.getByTestId('docs-mapping-csv')).toHaveText('{"prompt":"question","completion":"answer"}');
  // Anchors per format.
  await page.getByTestId('docs-toc-link').filter({ hasText: 'Parquet' }).click();
  await expect(page).toHaveURL(/#parquet$/);
});
