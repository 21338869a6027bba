import { Command, CommanderError, Option } from 'commander';
import { CliContext, type GlobalOptions } from './context.js';
import type { CliIO } from './io.js';

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

/**
 * The `trust` program: global options and every command group. Commands are registered from
 * cli/commands/*; heavy modules (the server, database drivers) load inside their actions.
 */
export async function buildProgram(io: CliIO, state: RunState): Promise<Command> {
  const program = new Command('trust');
  program
    .description('Content trust for container images: sign images and verify them before deploy.')
    .version(await version(), '-V, --version', 'print the version')
    .addOption(new Option('--server <url>', 'trust server URL (env OCITRUST_SERVER, default http://127.0.0.1:7443)'))
    .addOption(new Option('--home <dir>', 'ocitrust home folder: keys, pinned roots, trust cache (env OCITRUST_HOME, default ~/.ocitrust)'))
    .option('--plain-http', 'talk to registries over plain HTTP (loopback registries always are)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'print only results and errors')
    .option('--passphrase-file <file>', 'read key passphrases from this file (else OCITRUST_<ROLE>_PASSPHRASE, OCITRUST_PASSPHRASE, or a prompt)')
    .option('--token-file <file>', 'read the trust server bearer token from this file (else OCITRUST_TOKEN)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'trust: ')),
    });
  program.addHelpText(
    'after',
    '\nExit codes: 0 success/verified, 1 verification failed, 2 usage or input error, 3 environment error.\n' +
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
        const ctx = new CliContext(io, cmd.optsWithGlobals() as GlobalOptions);
        const code = await (fn as (c: CliContext, o: Record<string, unknown>, ...a: unknown[]) => Promise<number | void>)(ctx, opts, ...positional);
        state.exitCode = code ?? 0;
      };
    },
  };
  const mods = await Promise.all([
    import('./commands/key.js'),
    import('./commands/init.js'),
    import('./commands/signer.js'),
    import('./commands/sign.js'),
    import('./commands/verify.js'),
    import('./commands/inspect.js'),
    import('./commands/revoke.js'),
    import('./commands/copy.js'),
    import('./commands/server.js'),
    import('./commands/verify-manifests.js'),
    import('./commands/completion.js'),
  ]);
  for (const m of mods) m.register(program, kit);
  // Every subcommand reports usage errors the same way and never exits by itself.
  const configure = (c: Command): void => {
    for (const sub of c.commands) {
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

async function version(): Promise<string> {
  try {
    const { readFile } = await import('node:fs/promises');
    // cli/program.ts runs from the source tree and from dist/cli; package.json is found either way.
    for (const rel of ['../package.json', '../../package.json']) {
      try {
        const pkg = JSON.parse(await readFile(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'ocitrust' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // try the next location
      }
    }
  } catch {
    // fall through
  }
  return '0.0.0';
}
