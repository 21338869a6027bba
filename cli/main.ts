#!/usr/bin/env node
// The `trust` command (package.json "bin", bundled by scripts/build-cli.mjs). Everything lives in
// run.ts so tests can call it; this file only decides what to load. `trust --version` alone is
// answered here without loading the command-line parser or any command: start-up time is the
// whole cost of that call (issue 8 item 5).
import { writeSync } from 'node:fs';
import nodeModule from 'node:module';

// A string literal in the bundle (esbuild `define`); undeclared from the sources, which `typeof`
// tolerates.
declare const __OCITRUST_VERSION__: string | undefined;

const argv = process.argv.slice(2);

function internal(e: unknown): void {
  process.stderr.write(`trust: internal error: ${e instanceof Error ? e.message : String(e)} [INTERNAL]\n`);
  process.exitCode = 3;
}

/** Prints what commander prints for the version option, without building process.stdout. */
function printVersion(v: string): void {
  const text = `${v}\n`;
  try {
    writeSync(1, text);
  } catch {
    process.stdout.write(text);
  }
}

if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  if (typeof __OCITRUST_VERSION__ === 'string') printVersion(__OCITRUST_VERSION__);
  else import('./version.js').then(({ cliVersion }) => cliVersion()).then(printVersion, internal);
} else {
  // Node ≥ 22.1 keeps the compiled code of the chunks on disk (in the temporary folder; off with
  // NODE_DISABLE_COMPILE_CACHE=1), so later runs skip compiling them. Node 20 has no such API:
  // nothing happens there (`npm run build:snapshot` / `build:exe` are the start-up route on 20).
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  import('./run.js')
    .then(({ run }) => run(argv))
    .then((code) => {
      process.exitCode = code;
    }, internal);
}
