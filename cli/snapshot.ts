/**
 * The entry point of the start-up snapshot (issue 20): `npm run build:snapshot` bundles this file
 * into one CommonJS script and runs it once under `node --build-snapshot`, so the V8 heap with
 * every command module already loaded and initialised is written to a blob; `npm run build:exe`
 * puts the same snapshot into a single-file `trust` executable (Node's single executable
 * applications). A run then deserialises that heap instead of reading, compiling and linking
 * the bundle's files, and goes straight to {@link run}.
 *
 * What runs while the snapshot is built must leave nothing behind that belongs to one process:
 * module initialisation here reads no environment, clock, randomness, working folder or stream
 * (the CLI reads them in `run`, through `processIO()`), and the built-ins V8 cannot snapshot
 * (`node:http`'s parser) are loaded on first use (scripts/build-snapshot.mjs).
 */
import { statSync, writeSync } from 'node:fs';
import { isSea } from 'node:sea';
import v8 from 'node:v8';
import { run } from './run.js';
import { COMMANDS } from './program.js';
import { runEntryPoint } from './verify-daemon-client.js';

declare const __OCITRUST_VERSION__: string | undefined;

/**
 * Every command module, and the modules the common commands (verify, sign, inspect) load on
 * first use: initialised while the snapshot is built, they are part of the heap every run
 * starts from.
 */
const PRELOAD: ReadonlyArray<() => Promise<unknown>> = [
  ...COMMANDS.map(([, load]) => load),
  () => import('./context.js'),
  () => import('./server-token-fetch.js'),
  () => import('./logins.js'),
  () => import('../lib/oci/client.js'),
  () => import('../lib/oci/credentials.js'),
  () => import('../lib/trust-client.js'),
  () => import('../lib/usecases/trust.js'),
  () => import('../lib/policy/load.js'),
];

function runHere(argv: string[]): void {
  run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`trust: internal error: ${e instanceof Error ? e.message : String(e)} [INTERNAL]\n`);
      process.exitCode = 3;
    },
  );
}

/**
 * How to start this same build again (for the warm verifier), and what names it: the single
 * executable is its own file; a snapshot run is `node --snapshot-blob B --`; the plain script
 * is `node trust.cjs`. The file's size and modification time tell one build from the next.
 */
function self(): { start: string[]; buildId: string } {
  const blob = process.execArgv.indexOf('--snapshot-blob');
  const start = isSea() ? [] : blob >= 0 && process.execArgv[blob + 1] ? ['--snapshot-blob', process.execArgv[blob + 1]!, '--'] : [process.argv[1]!];
  const file = isSea() ? process.execPath : blob >= 0 ? process.execArgv[blob + 1]! : process.argv[1]!;
  const st = statSync(file);
  return { start, buildId: `${String(__OCITRUST_VERSION__)}-${st.size}-${st.mtimeMs}-${st.ino}` };
}

function main(argv: string[]): void {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V') && typeof __OCITRUST_VERSION__ === 'string') {
    writeSync(1, `${__OCITRUST_VERSION__}\n`);
    return;
  }
  runEntryPoint(argv, {
    self,
    // Started by a client as the warm verifier of its environment (cli/verify-daemon.ts).
    serve: (socket) => void import('./verify-daemon.js').then(({ serveVerifyDaemon }) => serveVerifyDaemon(socket)).catch(() => (process.exitCode = 3)),
    inProcess: () => runHere(argv),
  });
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  // Every command module and the libraries the common commands load lazily: initialised now,
  // they are part of the heap every run starts from. A failure here fails the build.
  void Promise.all(PRELOAD.map((load) => load())).catch((e: unknown) => {
    process.stderr.write(`build-snapshot: preloading failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
  // `node --snapshot-blob B -- ARGS` has no script name in argv; a single executable repeats its own path.
  v8.startupSnapshot.setDeserializeMainFunction(() => main(process.argv.slice(isSea() ? 2 : 1)));
} else {
  // Run as a plain script (`node trust.cjs ARGS`, the bundle without its snapshot): the same program.
  main(process.argv.slice(2));
}
