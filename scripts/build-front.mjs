// `npm run build:front`: the native front of the npm bin (native/trust-front.c; docs/executable.md
// "The native front"). It forwards an eligible `trust verify` to the warm verifier without
// starting Node, and hands everything else to this package's `trust` (dist/cli/bundle/trust.js)
// run by this very `node`. Needs a C compiler (`cc`, or $CC) and `npm run build` first.
//
//   npm run build:front [-- --out dist/front/trust]
//
// The node binary, its version, the bin and the bin's build hash are compiled in: they name the
// warm verifier's socket (cli/verify-daemon-client.ts envName), so rebuild the front after
// `npm run build` or a Node upgrade (until then it hands every call to the Node `trust`).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--out');
const out = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(root, 'dist', 'front', 'trust'));

function fail(message) {
  console.error(`build-front: ${message}`);
  process.exit(1);
}

if (process.platform === 'win32') fail('the native front is for POSIX systems (the warm verifier listens on a Unix socket)');
const bin = join(root, 'dist', 'cli', 'bundle', 'trust.js');
const program = join(root, 'dist', 'cli', 'bundle', 'trust.cjs');
if (!existsSync(bin) || !existsSync(program)) fail(`expected the bundled bin at ${bin}; run npm run build first`);
// The bin's build hash, as scripts/build-cli.mjs computes it (and inlines it in trust.js).
const buildId = createHash('sha256').update(readFileSync(program)).digest('hex').slice(0, 32);
if (!readFileSync(bin, 'latin1').includes(JSON.stringify(buildId))) fail(`expected ${bin} to carry the build hash ${buildId}; run npm run build again`);

/** A C string literal for -D (the compiler sees exactly these bytes). */
function cString(s) {
  if (/[\u0000-\u001f"\\\u007f-\uffff]/.test(s)) fail(`cannot compile in ${JSON.stringify(s)}: expected a path of printable ASCII without quotes or backslashes`);
  return `"${s}"`;
}

const cc = process.env.CC || 'cc';
mkdirSync(dirname(out), { recursive: true });
const r = spawnSync(
  cc,
  [
    '-O2',
    '-Wall',
    '-Wextra',
    '-std=c11',
    `-DTRUST_NODE=${cString(process.execPath)}`,
    `-DTRUST_NODE_VERSION=${cString(process.version)}`,
    `-DTRUST_BIN=${cString(bin)}`,
    `-DTRUST_BUILD_ID=${cString(buildId)}`,
    `-DTRUST_VERSION=${cString(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version)}`,
    '-o',
    out,
    join(root, 'native', 'trust-front.c'),
  ],
  { encoding: 'utf8' },
);
if (r.error) fail(`cannot run the C compiler ${cc}: ${r.error.message} (install one, e.g. apt-get install gcc libc6-dev, or set CC)`);
if (r.status !== 0) fail(`${cc} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
const check = spawnSync(out, ['--version'], { encoding: 'utf8' });
if (check.status !== 0) fail(`the front does not run: ${check.stderr || check.error?.message}`);
console.error(`build-front: ${out} (node ${process.version} at ${process.execPath}, build ${buildId.slice(0, 12)})`);
