import { Command, CommanderError, Option } from 'commander';
import type { CliContext, GlobalOptions } from './context.js';
import type { CliIO } from './io.js';
import { cliVersion } from './version.js';

/** Shared state of one CLI run: the exit code the actions set. */
export interface RunState {
  exitCode: number;
}

/** What each command file registers with. */
export interface CommandKit {
  readonly io: CliIO;
  /**
   * Wraps an action: builds the {@link CliContext} from the command's options (globals
   * included) and records the exit code it returns (default 0).
   */
  action<A extends unknown[]>(fn: (ctx: CliContext, opts: Record<string, any>, ...args: A) => Promise<number | void>): (...args: unknown[]) => Promise<void>;
}

/** Appends an "Example" section to a command's --help. */
export function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/** Parses an integer option value (commander argParser). */
export function intOption(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    if (!/^[0-9]+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
      throw new CommanderError(2, 'commander.invalidArgument', `${name}: expected an integer ≥ ${min}, got ${JSON.stringify(v.slice(0, 20))}`);
    }
    return Number(v);
  };
}

/** Collects a repeatable option into an array (commander argParser). */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** The exit codes, as every --help states them. */
const EXIT_CODES = 'Exit codes: 0 success/verified, 1 verification failed, 2 usage or input error, 3 environment error.';

/** A command module: registers one top-level command (and its subcommands). */
interface CommandModule {
  register(program: Command, kit: CommandKit): void;
}

/**
 * Every top-level command, in the order `trust --help` lists them, each loaded only when needed:
 * a command module pulls in its use cases and their libraries, which is most of the start-up
 * cost of the CLI. Exported for the start-up snapshot (cli/snapshot.ts), which loads them all.
 */
export const COMMANDS: ReadonlyArray<readonly [string, () => Promise<CommandModule>]> = [
  ['key', () => import('./commands/key.js')],
  ['init', () => import('./commands/init.js')],
  ['signer', () => import('./commands/signer.js')],
  ['sign', () => import('./commands/sign.js')],
  ['verify', () => import('./commands/verify.js')],
  ['inspect', () => import('./commands/inspect.js')],
  ['root', () => import('./commands/root.js')],
  ['revoke', () => import('./commands/revoke.js')],
  ['copy', () => import('./commands/copy.js')],
  ['save', () => import('./commands/save.js')],
  ['load', () => import('./commands/load.js')],
  ['server', () => import('./commands/server.js')],
  // Adds `trust server webhook …` to the server command (registered right after it).
  ['server', () => import('./commands/server-webhook.js')],
  // Adds `trust server import …` (read-only mirrors from trust bundles, docs/airgap.md).
  ['server', () => import('./commands/server-import.js')],
  ['verify-manifests', () => import('./commands/verify-manifests.js')],
  ['import-notary', () => import('./commands/import-notary.js')],
  ['login', () => import('./commands/login.js')],
  ['logout', () => import('./commands/logout.js')],
  ['whoami', () => import('./commands/whoami.js')],
  ['completion', () => import('./commands/completion.js')],
];

/** Global options that take a value in the next argument (unless written `--opt=value` or `-oVALUE`). */
const GLOBAL_WITH_VALUE = new Set(['--server', '--home', '-o', '--output', '--passphrase-file', '--token-file', '--pin-file']);
/**
 * Global options without a value. Not -h/--help: before the command name, commander shows the
 * program's help (every command) rather than the command's.
 */
const GLOBAL_FLAGS = new Set(['--plain-http', '-q', '--quiet', '-V', '--version']);

/**
 * The top-level command `argv` runs, when that one command suffices: the first argument after
 * the global options, when it names a command. Undefined — load every command — when there is
 * none (`trust`, `trust --help`, `trust -h verify`), for `help` and `completion` (they describe every command),
 * for an unknown name (commander's error suggests the closest one) and whenever the global
 * options are anything but plain (`--`, combined or unknown flags): commander then decides, as
 * it always did.
 */
export function invokedCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      if (a === 'completion') return undefined;
      return COMMANDS.some(([name]) => name === a) ? a : undefined;
    }
    if (GLOBAL_FLAGS.has(a)) continue;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0 && GLOBAL_WITH_VALUE.has(a.slice(0, eq))) continue;
    if (/^-o./.test(a)) continue;
    return undefined;
  }
  return undefined;
}

/**
 * The `trust` program: global options and the command groups. Commands are registered from
 * cli/commands/* — only the one `argv` invokes when that is clear (see {@link invokedCommand}),
 * else all of them; heavy modules (the server, database drivers) load inside their actions.
 */
export async function buildProgram(io: CliIO, state: RunState, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('trust');
  program
    .description('Content trust for container images: sign images and verify them before deploy.')
    .version(await cliVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--server <url>', 'trust server URL (env OCITRUST_SERVER, default http://127.0.0.1:7443)'))
    .addOption(new Option('--home <dir>', 'ocitrust home folder: keys, pinned roots, trust cache (env OCITRUST_HOME, default ~/.ocitrust)'))
    .option('--plain-http', 'talk to registries over plain HTTP (loopback registries always are)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'print only results and errors')
    .option('--passphrase-file <file>', 'read key passphrases from this file (else OCITRUST_<ROLE>_PASSPHRASE, OCITRUST_PASSPHRASE, or a prompt)')
    .option('--token-file <file>', 'read the trust server bearer token from this file (else OCITRUST_TOKEN)')
    .option('--pin-file <file>', 'read the PKCS#11 token PIN from this file (else OCITRUST_PKCS11_PIN, the URI\'s pin-source, or a prompt)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'trust: ')),
    });
  program.addHelpText(
    'after',
    `\n${EXIT_CODES}\n` +
      '\nExample (the docker trust workflow):\n' +
      '  $ trust init registry.example.com/app\n' +
      '  $ trust key generate alice\n' +
      '  $ trust signer add --key alice.pub alice registry.example.com/app\n' +
      '  $ trust sign registry.example.com/app:v1\n' +
      '  $ trust verify registry.example.com/app:v1\n',
  );

  const kit: CommandKit = {
    io,
    action(fn) {
      return async (...args: unknown[]) => {
        const cmd = args[args.length - 1] as Command;
        const opts = args[args.length - 2] as Record<string, unknown>;
        const positional = args.slice(0, -2);
        // Loaded only when an action runs: `--help` and usage errors never need it.
        const { CliContext } = await import('./context.js');
        const ctx = new CliContext(io, cmd.optsWithGlobals() as GlobalOptions);
        const code = await (fn as (c: CliContext, o: Record<string, unknown>, ...a: unknown[]) => Promise<number | void>)(ctx, opts, ...positional);
        state.exitCode = code ?? 0;
      };
    },
  };
  const only = invokedCommand(argv);
  const mods = await Promise.all(COMMANDS.filter(([name]) => only === undefined || name === only).map(([, load]) => load()));
  for (const m of mods) m.register(program, kit);
  // Every subcommand reports usage errors the same way and never exits by itself.
  const configure = (c: Command): void => {
    for (const sub of c.commands) {
      // A subcommand's --help is the page people read: it shows the global options
      // (--server, --passphrase-file, -o, -q…) and what the exit code means.
      sub.configureHelp({ showGlobalOptions: true }).addHelpText('after', `\n${EXIT_CODES}\n`);
      sub.exitOverride().showHelpAfterError('(run with --help for usage)').configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => io.stderr.write(s),
        outputError: (s, write) => write(s.replace(/^error: /, 'trust: ')),
      });
      configure(sub);
    }
  };
  configure(program);
  return program;
}
