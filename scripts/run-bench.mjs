#!/usr/bin/env node
// `npm run bench [-- name...]`: runs bench/<name>.bench.ts (all by default) one after another and
// writes their markdown output, with the machine and the command, to BENCHMARKS.md.
// Benchmarks compare side by side in one run (ratios), because these machines are noisy.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync, execSync } from 'node:child_process';
import os from 'node:os';

const only = process.argv.slice(2);
// Some benchmarks run the built CLI (the package bin, dist/cli/bundle/trust.js) as whole processes.
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();
const sections = [];
for (const f of files) {
  console.error(`bench: ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${f}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    console.error(`bench: ${f} failed with exit ${r.status}`);
    process.exit(r.status ?? 1);
  }
  sections.push(`## ${f.replace(/\.bench\.ts$/, '')}\n\n${r.stdout.trim()}\n`);
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const git = (() => { try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })();
const head = [
  '# Benchmarks',
  '',
  `Command: \`npm run bench${only.length ? ' -- ' + only.join(' ') : ''}\` (each section: \`node --import tsx bench/<name>.bench.ts\`)`,
  '',
  `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}; commit ${git}; ${new Date().toISOString()}.`,
  '',
  'Figures are medians of several rounds with min–max where given; ratios are computed within one run.',
  '',
];
// A partial run (`npm run bench -- proxy`) replaces only its own sections and keeps the others,
// each of which still names the command that produced it.
let merged = sections;
if (only.length > 0 && existsSync('BENCHMARKS.md')) {
  const old = readFileSync('BENCHMARKS.md', 'utf8');
  const kept = new Map();
  for (const part of old.split(/\n(?=## )/).slice(1)) kept.set(part.slice(3, part.indexOf('\n')).trim(), part.trimEnd() + '\n');
  for (const sec of sections) kept.set(sec.slice(3, sec.indexOf('\n')).trim(), sec);
  merged = [...kept.keys()].sort().map((k) => kept.get(k));
  head[2] = `Command: \`npm run bench\` (each section: \`node --import tsx bench/<name>.bench.ts\`); last partial run: \`npm run bench -- ${only.join(' ')}\``;
}
writeFileSync('BENCHMARKS.md', head.join('\n') + merged.join('\n'));
console.error('bench: wrote BENCHMARKS.md');
