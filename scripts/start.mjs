#!/usr/bin/env node
// `npm start`: the demo (cli/demo.ts), built first only when dist/ is missing or older than a
// source file, so `npm install && npm start` builds once (npm install's "prepare" already
// built) instead of twice. Arguments go to the demo (`npm start -- --keep`).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState } from './build-freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const state = buildState(root);
if (state !== 'fresh') {
  process.stdout.write(state === 'missing' ? 'npm start: building (dist/ is missing)\n' : 'npm start: rebuilding (sources changed since the last build)\n');
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 3);
}
const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'demo.js'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? (r.signal === 'SIGINT' ? 0 : 3));
