// `trust` as users run it (package.json "bin"): the CLI bundled by esbuild into minified ESM, so a
// process loads a few files instead of a few hundred modules, and only the ones its command
// needs (issue 8 item 5: start-up at the bare-node floor). Two builds into one folder:
//   trust.js          cli/main.ts alone, no static imports: answers `--version` by itself, else
//                     imports chunks/run.js;
//   chunks/run.js     cli/run.ts with code splitting: each command module (cli/commands/*,
//                     imported dynamically by cli/program.ts), the context, the registry and
//                     trust clients and the server (`trust server`) get their own chunks; code
//                     they share lands in shared chunks, so every class — OcitrustError above
//                     all — exists once per process.
//
//   node scripts/build-cli.mjs [--outdir dist/cli/bundle]      (run by `npm run build` after tsc)
//
// Bundled from the TypeScript sources; independent of the tsc output in dist/.
import { build } from 'esbuild';
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

const REQUIRE_BANNER = 'import{createRequire as __ocitrustRequire}from"node:module";const require=__ocitrustRequire(import.meta.url);';

// A chunk has no stale siblings from an earlier build.
rmSync(outdir, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  external,
  // `trust --version` prints this without reading package.json.
  define: { __OCITRUST_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
  metafile: true,
};
// The program (cli/run.ts) with code splitting: chunks/run.js, a chunk per command and shared chunks.
const program = await build({
  ...common,
  entryPoints: { run: 'cli/run.ts' },
  entryNames: 'chunks/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  // commander and yaml are CommonJS: their require() of Node built-ins goes through esbuild's
  // require shim, which needs a real require in scope. Removed below where nothing uses it.
  banner: { js: REQUIRE_BANNER },
});
// The entry (cli/main.ts) alone, importing nothing up front: `trust --version` reads one small
// file; everything else imports chunks/run.js.
const entry = await build({
  ...common,
  entryPoints: { trust: 'cli/main.ts' },
  entryNames: '[name]',
  plugins: [
    {
      name: 'ocitrust-run-chunk',
      setup(b) {
        b.onResolve({ filter: /^\.\/run\.js$/ }, (a) => (a.importer.endsWith(join('cli', 'main.ts')) ? { path: './chunks/run.js', external: true } : undefined));
      },
    },
  ],
});
// Only the chunk with esbuild's require shim calls require; createRequire in each of the others
// would only cost start-up time. A chunk keeps the banner if the word appears in it at all.
for (const file of Object.keys(program.metafile.outputs)) {
  if (!file.endsWith('.js')) continue;
  const path = join(root, file);
  const text = readFileSync(path, 'utf8');
  if (!text.startsWith(REQUIRE_BANNER)) throw new Error(`build-cli: ${file} does not start with the require banner`);
  const rest = text.slice(REQUIRE_BANNER.length);
  if (!/\brequire\b/.test(rest)) writeFileSync(path, rest.replace(/^\n/, ''));
}
const outputs = [...Object.entries(program.metafile.outputs), ...Object.entries(entry.metafile.outputs)].filter(([f]) => f.endsWith('.js'));
const bytes = outputs.reduce((n, [, o]) => n + o.bytes, 0);
console.error(`build-cli: ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB in ${outdir}`);
