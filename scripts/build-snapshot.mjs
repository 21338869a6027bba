// `npm run build:snapshot`: `trust` as a V8 start-up snapshot (issue 20). Two steps:
//   1. esbuild bundles cli/snapshot.ts into ONE CommonJS file, trust.cjs (a snapshot is built
//      from a single script that can require nothing but Node's built-ins);
//   2. `node --snapshot-blob trust.blob --build-snapshot trust.cjs` runs it once — every command
//      module is loaded and initialised — and writes the heap to trust.blob.
// A run is then `node --snapshot-blob trust.blob -- ARGS` (the `trust` launcher written next to
// it does exactly that), or the single executable of scripts/build-exe.mjs, which carries the
// same snapshot. The blob only loads into the Node binary (version and V8 flags) that built
// it; the launcher falls back to trust.cjs when it does not.
//
//   node scripts/build-snapshot.mjs [--outdir dist/cli/snapshot]
//
// What cannot be in the snapshot, and how it is kept out:
//   - `node:http`/`node:https` (their parser binding holds native handles V8 cannot serialise)
//     and `node:child_process`: lib/http/fetch.ts and lib/oci/credentials.ts get them through a
//     small module that requires them on first call (LAZY_BUILTINS below);
//   - the trust server's packages (fastify and its plugins, better-sqlite3 with its native
//     binding, pg): a snapshot cannot require files, so they are replaced by a module that
//     fails with CLI_NOT_IN_EXECUTABLE when `trust server` (or its token and webhook
//     subcommands) first needs them. Run `trust server` from the npm package or the image.
//   - pkcs11js (native): the same, when a `pkcs11:` key is first used. Use the npm package's
//     `trust` for PKCS#11 keys; plugin keys (`plugin:NAME:KEYREF`) work in the executable.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The packages a snapshot cannot carry (the externals of scripts/build-cli.mjs): the trust
 * server's, and pkcs11js (a native addon, loaded only for a PKCS#11 key).
 */
const SERVER_PACKAGES = /^(better-sqlite3|pg|pg-native|fastify|fastify-plugin|@fastify\/.*|pkcs11js)(\/.*)?$/;
/** Built-ins loaded on first call, and the exports used (each a function or a class). */
const LAZY_BUILTINS = { 'node:http': ['Agent', 'request'], 'node:https': ['Agent', 'request'], 'node:child_process': ['spawn'] };
/**
 * The modules that import them: every module of ours (lib/, cli/) gets the lazy stand-in, so
 * a new importer (the Notary client's HTTPS, the signer plugins' spawn) cannot break the
 * snapshot; an export not listed above fails the build loudly (esbuild: no matching export).
 */
const LAZY_IMPORTERS = /[\\/](lib|cli)[\\/].*\.ts$/;

const snapshotPlugin = {
  name: 'ocitrust-snapshot',
  setup(b) {
    b.onResolve({ filter: /^node:(http|https|child_process)$/ }, (a) => {
      if (a.namespace === 'ocitrust-lazy') return { path: a.path, external: true };
      return LAZY_IMPORTERS.test(a.importer) ? { path: a.path, namespace: 'ocitrust-lazy' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'ocitrust-lazy' }, (a) => ({
      // `new Agent(…)` and `request(…)` both go to the real module, required on the first call.
      contents:
        `let m;\nconst real = () => (m ??= require(${JSON.stringify(a.path)}));\n` +
        LAZY_BUILTINS[a.path].map((n) => `export function ${n}(...args) { const f = real().${n}; return new.target ? new f(...args) : f(...args); }`).join('\n'),
      loader: 'js',
    }));
    b.onResolve({ filter: SERVER_PACKAGES }, (a) => ({ path: a.path, namespace: 'ocitrust-absent' }));
    b.onLoad({ filter: /.*/, namespace: 'ocitrust-absent' }, (a) => ({
      // CommonJS, so that any import of it (default, named) binds; it throws before exporting.
      contents: `module.exports = {};\nrequire(${JSON.stringify(join(root, 'cli', 'not-in-executable.ts'))}).notInExecutable(${JSON.stringify(a.path)});\n`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * Bundles cli/snapshot.ts into `outfile` (one CommonJS script, minified unless `minify` is
 * false — readable names for a CPU profile — nothing external but Node's built-ins).
 * @returns the size in bytes
 */
export async function bundleSnapshotEntry(outfile, { minify = true } = {}) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const r = await build({
    absWorkingDir: root,
    entryPoints: ['cli/snapshot.ts'],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify,
    legalComments: 'eof',
    // import.meta.url only locates package.json (never needed: the version is inlined) and the
    // demo's bin; a CommonJS bundle has no import.meta.
    define: { __OCITRUST_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__ocitrustUrl' },
    banner: { js: 'var __ocitrustUrl=require("node:url").pathToFileURL(__filename).href;' },
    plugins: [snapshotPlugin],
    logLevel: 'warning',
    metafile: true,
  });
  return Object.values(r.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
}

/**
 * Runs `node --build-snapshot` on `entry`, writing `blob`; returns Node's output on failure.
 * Node warns that some built-ins (child_process, loaded by commander) are "not yet fully
 * verified" in snapshots; those lines are dropped, anything else is passed on.
 */
export function buildSnapshotBlob(entry, blob, extraArgs = []) {
  rmSync(blob, { force: true });
  const r = spawnSync(process.execPath, [...extraArgs, '--snapshot-blob', blob, '--build-snapshot', entry], { encoding: 'utf8', cwd: root });
  const noise = /^(\(node:\d+\) Warning: It's not yet fully verified whether built-in module|It may still work in some cases|To request support for the module|\(Use `node --trace-warnings)/;
  const rest = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !noise.test(l)).join('\n');
  if (r.status !== 0) throw new Error(`node --build-snapshot failed (exit ${r.status}):\n${rest}`);
  if (rest) process.stderr.write(rest + '\n');
}

/**
 * The POSIX launcher. Node exits 14 before running any JavaScript when a snapshot does not fit
 * its binary (another version, other V8 flags); the launcher then runs trust.cjs, the same
 * program without the snapshot (`trust` itself never exits 14).
 */
const LAUNCHER = `#!/bin/sh
# trust from its start-up snapshot (scripts/build-snapshot.mjs; rebuild it after upgrading Node).
here=$(dirname "$(readlink -f "$0" 2>/dev/null || echo "$0")")
node --snapshot-blob "$here/trust.blob" -- "$@"
code=$?
[ "$code" -eq 14 ] || exit "$code"
exec node "$here/trust.cjs" "$@"
`;

async function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : join(root, 'dist', 'cli', 'snapshot');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const entry = join(outdir, 'trust.cjs');
  const bytes = await bundleSnapshotEntry(entry);
  const blob = join(outdir, 'trust.blob');
  buildSnapshotBlob(entry, blob);
  const launcher = join(outdir, 'trust');
  writeFileSync(launcher, LAUNCHER);
  chmodSync(launcher, 0o755);
  console.error(`build-snapshot: ${entry} (${(bytes / 1024).toFixed(0)} KiB), ${blob} (${(readFileSync(blob).length / 2 ** 20).toFixed(1)} MiB, Node ${process.version})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(`build-snapshot: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
