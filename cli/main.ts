#!/usr/bin/env node
// The `trust` command (package.json "bin", bundled by scripts/build-cli.mjs). Everything lives in
// run.ts so tests can call it; this file only decides what to load. `trust --version` alone is
// answered here without loading the command-line parser or any command: start-up time is the
// whole cost of that call (issue 8 item 5).
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadedCli } from './code-cache.js';
import { runEntryPoint } from './verify-daemon-client.js';

// A string literal in the bundle (esbuild `define`); undeclared from the sources, which `typeof`
// tolerates.
declare const __OCITRUST_VERSION__: string | undefined;
/** The bundle's build hash (scripts/build-cli.mjs), keying its code cache; undeclared elsewhere. */
declare const __OCITRUST_BUILD_ID__: string | undefined;

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
} else if (typeof __OCITRUST_BUILD_ID__ === 'string') {
  // The bundle (scripts/build-cli.mjs): the whole CLI is trust.cjs beside this file, run from a
  // V8 code cache (cli/code-cache.ts) so the code its command ran last time is not compiled again.
  const buildId = __OCITRUST_BUILD_ID__;
  const entry = fileURLToPath(import.meta.url);
  // cli/code-cache.ts (node:vm, the bundle) is loaded only to run the CLI here: a
  // call answered by the warm verifier needs none of it.
  const bundled = (): Promise<LoadedCli | undefined> =>
    import('./code-cache.js')
      .then(({ loadBundledCli }) => loadBundledCli(fileURLToPath(new URL('./trust.cjs', import.meta.url)), buildId, argv))
      .catch((e: unknown) => {
        internal(e);
        return undefined;
      });
  const inProcess = (): void => {
    void bundled().then((loaded) =>
      loaded?.cli.run(argv).then((code) => {
        loaded.done(code);
        process.exitCode = code;
      }, internal),
    );
  };
  // As the warm verifier, through it (opt-in, cli/verify-daemon-client.ts), or in-process.
  runEntryPoint(argv, {
    self: () => ({ start: [entry], buildId }),
    serve: (socket) => void bundled().then((loaded) => loaded?.cli.serveVerifyDaemon(socket).catch(internal)),
    inProcess,
  });
} else {
  // From the sources or the plain tsc output (dist/cli/main.js): the modules as they are.
  import('./run.js')
    .then(({ run }) => run(argv))
    .then((code) => {
      process.exitCode = code;
    }, internal);
}
