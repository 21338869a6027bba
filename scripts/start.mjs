#!/usr/bin/env node
// `npm start`: the demo (cli/demo.ts), built first only when dist/ is missing or older than a
// source file, so `npm install && npm start` builds once (npm install's "prepare" already
// built) instead of twice. Arguments go to the demo (`npm start -- --keep`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputs = [join(root, 'dist', 'cli', 'demo.js'), join(root, 'dist', 'cli', 'bundle', 'trust.js')];
const inputs = ['lib', 'server', 'cli', 'hook', 'package.json', 'tsconfig.json', 'tsconfig.build.json', join('scripts', 'build-cli.mjs')];

/** Newest modification time (ms) under `p`, a file or folder. */
function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(p)) t = Math.max(t, newest(join(p, e)));
  return t;
}

const built = outputs.every((f) => existsSync(f)) ? Math.min(...outputs.map((f) => statSync(f).mtimeMs)) : 0;
const source = Math.max(...inputs.map((p) => join(root, p)).filter((p) => existsSync(p)).map(newest));
if (built < source) {
  process.stdout.write(built === 0 ? 'npm start: building (dist/ is missing)\n' : 'npm start: rebuilding (sources changed since the last build)\n');
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 3);
}
const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'demo.js'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? (r.signal === 'SIGINT' ? 0 : 3));
