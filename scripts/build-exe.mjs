// `npm run build:exe`: a single-file `trust` executable for the platform this runs on (issue 20),
// with Node's single executable applications: the start-up snapshot of scripts/build-snapshot.mjs
// (every command loaded and initialised) is injected into a copy of this `node` binary, so the
// executable needs neither Node nor node_modules and starts from the snapshot.
//
//   npm run build:exe [-- --out dist/exe/trust]
//
// Steps (https://nodejs.org/api/single-executable-applications.html):
//   1. bundle cli/snapshot.ts into one CommonJS file (build-snapshot.mjs);
//   2. `node --experimental-sea-config sea-config.json` with "useSnapshot": true writes the
//      preparation blob (it runs the bundle once under --build-snapshot);
//   3. copy process.execPath and inject the blob with postject (the tool Node's documentation
//      names): node_modules/.bin/postject when installed, else `npx --yes postject@1.0.0-alpha.6`
//      (needs the npm registry once);
//   4. macOS: remove the signature before injecting and sign ad hoc after it.
//
// Not in the executable: `trust server` (and its token and webhook subcommands), whose packages
// include the native SQLite driver; they fail with CLI_NOT_IN_EXECUTABLE (docs/executable.md).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSnapshotEntry } from './build-snapshot.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--out');
const exe = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(root, 'dist', 'exe', process.platform === 'win32' ? 'trust.exe' : 'trust'));
const work = join(dirname(exe), '.build');
/** The fuse Node's binary carries for single executable applications. */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT = '1.0.0-alpha.6';

function sh(cmd, cmdArgs, what) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' });
  const noise = /^(\(node:\d+\) Warning: It's not yet fully verified|It may still work in some cases|To request support for the module|\(Use `node --trace-warnings|\(node:\d+\) ExperimentalWarning: Single executable|warning: Can't find string offset for section name)/;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => l.trim() && !noise.test(l)).join('\n');
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.error?.message}):\n${out}`);
  return out;
}

async function main() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 12)) throw new Error(`Node ${process.version}: single executables with a snapshot need Node ≥ 20.12`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const entry = join(work, 'trust.cjs');
  await bundleSnapshotEntry(entry);
  const prep = join(work, 'sea-prep.blob');
  const config = join(work, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main: entry, output: prep, useSnapshot: true, disableExperimentalSEAWarning: true }, null, 2));
  sh(process.execPath, ['--experimental-sea-config', config], 'node --experimental-sea-config');
  rmSync(exe, { force: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  if (process.platform === 'darwin') sh('codesign', ['--remove-signature', exe], 'codesign --remove-signature');
  const local = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'postject.cmd' : 'postject');
  const [cmd, pre] = existsSync(local) ? [local, []] : ['npx', ['--yes', `postject@${POSTJECT}`]];
  sh(cmd, [...pre, exe, 'NODE_SEA_BLOB', prep, '--sentinel-fuse', FUSE, ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [])], 'postject');
  if (process.platform === 'darwin') sh('codesign', ['--sign', '-', exe], 'codesign --sign -');
  // The executable must answer before it is handed out.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const v = sh(exe, ['--version'], `${exe} --version`).trim();
  if (v !== pkg.version) throw new Error(`${exe} --version printed ${JSON.stringify(v)}, expected ${pkg.version}`);
  rmSync(work, { recursive: true, force: true });
  console.error(`build-exe: ${exe} (${(statSync(exe).size / 2 ** 20).toFixed(0)} MiB, Node ${process.version}, ${process.platform}-${process.arch}, with the start-up snapshot)`);
}

main().catch((e) => {
  console.error(`build-exe: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
