// `trust` as users run it (package.json "bin"): the CLI bundled by esbuild, so a process reads
// two files instead of a few hundred modules (issue 8 item 5), and runs them from a V8 code cache
// (issue 20: start-up at the bare-node floor). Three files in one folder:
//   trust.js    cli/main.ts, CommonJS (package.json beside it says so): answers `--version` by
//               itself; else loads trust.cjs through cli/code-cache.ts (vm.Script with a
//               per-command code cache, Node 20 and later);
//   trust.cjs   cli/bundle-entry.ts (the CLI and its warm verifier) and everything they import,
//               one minified CommonJS script. Commands are imported dynamically by
//               cli/program.ts; in one CommonJS file esbuild turns those imports into lazy
//               module initialisers, so a process initialises only the modules its command
//               needs, and the code cache spares it the compiling.
//               CommonJS because V8 code caches exist for scripts, not (on Node 20) for ES modules.
//
//   node scripts/build-cli.mjs [--outdir dist/cli/bundle]      (run by `npm run build` after tsc)
//
// Bundled from the TypeScript sources; independent of the tsc output in dist/.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = at >= 0 && args[at + 1] ? resolve(args[at + 1]) : join(root, 'dist', 'cli', 'bundle');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// Stay external, loaded from node_modules at run time: the native SQLite binding, the PostgreSQL
// driver (optional native parts), the PKCS#11 binding (native) and fastify with its plugins (only `trust server` loads them;
// bundling them would only grow the server chunk). Everything else is inlined.
const external = ['better-sqlite3', 'pg', 'pg-native', 'fastify', 'fastify-plugin', '@fastify/*', 'pkcs11js'];

/**
 * Built-ins most commands never use, yet a module that may use them imports them: each import
 * gets a stand-in that loads the real module on the first use of one of these exports.
 * `node:child_process` (≈3 ms to load) starts a credential helper or a signer plugin, and
 * commander requires it for executable subcommands, which `trust` has none of. (node:https is
 * loaded on first use by lib/http/fetch.ts itself; its other importers are off the hot paths.)
 */
const LAZY_BUILTINS = {
  child_process: ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork'],
};
const lazyBuiltins = {
  name: 'ocitrust-lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${Object.keys(LAZY_BUILTINS).join('|')})$`);
    b.onResolve({ filter }, (a) => {
      const name = a.path.replace(/^node:/, '');
      return a.namespace === 'ocitrust-lazy' ? { path: `node:${name}`, external: true } : { path: name, namespace: 'ocitrust-lazy' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ocitrust-lazy' }, (a) => ({
      contents:
        `let m;\nconst real = () => (m ??= require('node:${a.path}'));\n` +
        LAZY_BUILTINS[a.path].map((n) => `Object.defineProperty(exports, '${n}', { enumerable: true, get: () => real().${n} });`).join('\n'),
      loader: 'js',
    }));
  },
};

// No stale file from an earlier build.
rmSync(outdir, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  external,
  logLevel: 'warning',
  metafile: true,
};
// The program (cli/bundle-entry.ts): trust.cjs.
const program = await build({
  ...common,
  entryPoints: { trust: 'cli/bundle-entry.ts' },
  entryNames: '[name]',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  // `trust --version` prints this without reading package.json; import.meta.url (only the
  // version's package.json lookup uses it, never reached in the bundle) is the bundle's own URL.
  define: { __OCITRUST_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__ocitrustUrl' },
  banner: { js: 'var __ocitrustUrl=require("node:url").pathToFileURL(__filename).href;' },
  // import() of a package left external (pkcs11js, node:*) becomes require(): a vm.Script
  // (cli/code-cache.ts) has no module loader for import().
  supported: { 'dynamic-import': false },
  plugins: [lazyBuiltins],
});
const programFile = join(outdir, 'trust.cjs');
const programBytes = readFileSync(programFile);
// cli/code-cache.ts reads trust.cjs as latin1 (no UTF-8 decoding); esbuild escapes every other
// character (charset: ascii, its default), and this keeps it so.
const nonAscii = programBytes.findIndex((b) => b > 0x7f);
if (nonAscii >= 0) throw new Error(`build-cli: trust.cjs has a non-ASCII byte at offset ${nonAscii}; the code cache loader reads it as latin1`);
const buildId = createHash('sha256').update(programBytes).digest('hex').slice(0, 32);
// The entry (cli/main.ts), with the program's build hash: it keys the code cache. CommonJS too:
// Node takes ≈5 ms longer to start an ES module entry than a script (its ESM loader), and the
// package.json written beside it makes trust.js a CommonJS file inside this "type": "module"
// package.
const entry = await build({
  ...common,
  entryPoints: { trust: 'cli/main.ts' },
  entryNames: '[name]',
  format: 'cjs',
  define: { __OCITRUST_VERSION__: JSON.stringify(pkg.version), __OCITRUST_BUILD_ID__: JSON.stringify(buildId), 'import.meta.url': '__ocitrustUrl' },
  banner: { js: 'var __ocitrustUrl=require("node:url").pathToFileURL(__filename).href;' },
});
writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
const outputs = [...Object.entries(program.metafile.outputs), ...Object.entries(entry.metafile.outputs)].filter(([f]) => /\.c?js$/.test(f));
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
console.error(`build-cli: ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB in ${outdir}`);
