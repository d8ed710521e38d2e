/**
 * The package boundaries of ARCHITECTURE.md, checked from the import statements of every source
 * file: arrows point one way (apps → packages → contracts/config; workers never import apps), a
 * workspace package is reached only through the entry points its package.json exports, and test
 * helpers (`testing/`) are imported by tests only.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(path.join(root, d), { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const rel = path.join(d, e.name);
      if (e.isDirectory()) walk(rel);
      else if (/\.(ts|tsx)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk(dir);
  return out;
}

const isTest = (file: string) => /\.test\.tsx?$/.test(file) || file.startsWith('e2e/') || file.includes('/testing/');
const specifiers = (file: string): string[] =>
  [...readFileSync(path.join(root, file), 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3],
  );

interface Workspace {
  name: string;
  dir: string;
  entries: Set<string>;
}
const workspaces: Workspace[] = ['apps', 'packages', 'workers', 'e2e'].flatMap((top) => {
  const dirs = top === 'e2e' ? ['e2e'] : readdirSync(path.join(root, top)).map((d) => `${top}/${d}`);
  return dirs.flatMap((dir) => {
    try {
      const pkg = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as { name: string; exports?: Record<string, string> | string };
      const entries = new Set(typeof pkg.exports === 'object' ? Object.keys(pkg.exports).map((k) => k.replace(/^\.\/?/, '')) : ['']);
      return [{ name: pkg.name, dir, entries }];
    } catch {
      return [];
    }
  });
});
const byName = new Map(workspaces.map((w) => [w.name, w]));
const all = workspaces.flatMap((w) => sources(w.dir).map((file) => ({ file, owner: w })));

test('workspace packages are imported through their exported entry points only', () => {
  const wrong: string[] = [];
  for (const { file } of all) {
    for (const spec of specifiers(file)) {
      const m = /^(@edgetune\/[^/]+)(?:\/(.+))?$/.exec(spec);
      const target = m && byName.get(m[1]);
      if (target && !target.entries.has(m[2] ?? '')) wrong.push(`${file}: ${spec}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('imports point one way: packages never import apps or workers, workers never import apps', () => {
  const wrong: string[] = [];
  for (const { file, owner } of all) {
    for (const spec of specifiers(file)) {
      const target = byName.get(/^@edgetune\/[^/]+/.exec(spec)?.[0] ?? '');
      if (!target || target === owner) continue;
      const from = owner.dir.split('/')[0];
      const to = target.dir.split('/')[0];
      if ((from === 'packages' && (to === 'apps' || to === 'workers')) || (from === 'workers' && to === 'apps')) wrong.push(`${file}: ${spec}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('test helpers are imported by tests only', () => {
  const wrong: string[] = [];
  for (const { file } of all) {
    if (isTest(file)) continue;
    for (const spec of specifiers(file)) if (/(^|\/)testing(\/|$)/.test(spec)) wrong.push(`${file}: ${spec}`);
  }
  assert.deepEqual(wrong, []);
});

test('the checks see the imports they judge', () => {
  // Guards the scanner itself: if it stopped finding imports, the tests above would pass vacuously.
  const seen = all.filter(({ file }) => file.startsWith('workers/orchestrator/')).flatMap(({ file }) => specifiers(file));
  assert.ok(seen.includes('@edgetune/api/pipeline'), 'the orchestrator imports the pipeline entry point');
  assert.ok(all.length > 200, `${all.length} source files scanned`);
});
