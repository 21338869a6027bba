// Whether dist/ must be (re)built before `npm start` runs the demo: missing, or older than a
// source file. Used by scripts/start.mjs; tested by test/unit/build-freshness.test.ts.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the demo runs. */
export const BUILD_OUTPUTS = [join('dist', 'cli', 'demo.js'), join('dist', 'cli', 'bundle', 'trust.js')];
/** What the build reads. */
export const BUILD_INPUTS = ['lib', 'server', 'cli', 'hook', 'package.json', 'tsconfig.json', 'tsconfig.build.json', join('scripts', 'build-cli.mjs')];

/** Newest modification time (ms) under `p`, a file or folder. */
function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(p)) t = Math.max(t, newest(join(p, e)));
  return t;
}

/**
 * 'missing' when an output is absent, 'stale' when a source is newer than the oldest output,
 * else 'fresh'.
 * @param {string} root the project folder
 * @returns {'missing' | 'stale' | 'fresh'}
 */
export function buildState(root) {
  const outputs = BUILD_OUTPUTS.map((f) => join(root, f));
  if (!outputs.every((f) => existsSync(f))) return 'missing';
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = BUILD_INPUTS.map((p) => join(root, p)).filter((p) => existsSync(p));
  const source = inputs.length ? Math.max(...inputs.map(newest)) : 0;
  return source > built ? 'stale' : 'fresh';
}
