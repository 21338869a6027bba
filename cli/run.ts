import { CommanderError } from 'commander';
import { OcitrustError } from '../lib/errors/index.js';
import { processIO, type CliIO } from './io.js';
import { buildProgram } from './program.js';
import { offlineGuardMode } from './offline-state.js';

/**
 * Runs `trust` with `argv` (without the node and script names) and returns the exit code:
 * 0 success / verified, 1 verification failed, 2 usage or input error, 3 environment error.
 * Every failure is one line on stderr (`trust: <message> [CODE]`); a stack trace only with
 * OCITRUST_DEBUG=1.
 */
export async function run(argv: readonly string[], given?: CliIO): Promise<number> {
  let io: CliIO;
  try {
    io = given ?? processIO();
  } catch (e) {
    // The process's own streams work even when its working folder is gone.
    return report(e, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: '' });
  }
  const state = { exitCode: 0 };
  // --offline, enforced at the socket (cli/offline-guard.ts): with a layout input no network at
  // all; else only the registries of the images verified (added as their references are read).
  // The guard's module (it patches net, dns and dgram) is loaded only then.
  const mode = offlineGuardMode(argv);
  const offline = mode === undefined ? undefined : await import('./offline-guard.js');
  const guard = offline && (mode === 'registries' ? offline.installOfflineGuard({ allowlist: new (await import('./offline-allowlist.js')).OfflineAllowlist() }) : offline.installOfflineGuard());
  try {
    const program = await buildProgram(io, state, argv);
    await program.parseAsync([...argv], { from: 'user' });
    const violation = guard && offline.offlineViolation(guard);
    return violation ? report(violation, io) : state.exitCode;
  } catch (e) {
    const violation = guard && offline.offlineViolation(guard);
    return report(violation ?? e, io);
  } finally {
    guard?.uninstall();
  }
}

function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function report(e: unknown, io: CliIO): number {
  const debug = io.env.OCITRUST_DEBUG === '1';
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    // commander already printed the message and a usage hint (for a command group run without
    // a subcommand, 'commander.help', the help itself on stderr): a usage error either way.
    return 2;
  }
  if (e instanceof OcitrustError) {
    io.stderr.write(`trust: ${oneLine(e.message)} [${e.code}]\n`);
    if (debug && e.stack) io.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.stderr.write(`trust: internal error: ${oneLine(msg)} [INTERNAL]\n`);
  if (debug && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n');
  return 3;
}
