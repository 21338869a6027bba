// `npm start` builds only when needed (issue 14: `npm install && npm start` built twice, once in
// "prepare" and again in "start"): scripts/build-freshness.mjs on a scratch project folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script without type declarations
import { buildState, BUILD_OUTPUTS } from '../../scripts/build-freshness.mjs';
import { PROJECT_ROOT } from '../helpers/cli.js';

test('build state: missing output → missing; sources older → fresh; a newer source → stale', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocitrust-fresh-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'lib', 'deep'), { recursive: true });
  writeFileSync(join(root, 'lib', 'deep', 'a.ts'), 'x');
  writeFileSync(join(root, 'package.json'), '{}');
  assert.equal(buildState(root), 'missing');
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(root, 'lib', 'deep', 'a.ts'), old, old);
  utimesSync(join(root, 'package.json'), old, old);
  for (const f of BUILD_OUTPUTS as string[]) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  assert.equal(buildState(root), 'fresh');
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'lib', 'deep', 'a.ts'), later, later);
  assert.equal(buildState(root), 'stale');
});

test('package.json: start runs the freshness-checking script, and prepare is the one build', () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, 'node scripts/start.mjs');
  assert.equal(pkg.scripts.prepare, 'npm run build');
  assert.ok(!pkg.scripts.start.includes('build'), 'start does not build unconditionally');
});
