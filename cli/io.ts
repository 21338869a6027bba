import { OcitrustError } from '../lib/errors/index.js';

/** Where the CLI reads and writes: the process streams, or test doubles. */
export interface CliIO {
  readonly stdout: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/**
 * A reader that went away (`trust … | head -1`) closes the pipe: the rest of the output has
 * nowhere to go, which is not an error of ours. Stop quietly with the exit code so far, as a
 * Unix filter does, instead of Node's stack trace for an unhandled EPIPE.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (stream.listenerCount('error') === 0) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw e;
    });
  }
  return stream;
}

/** The real process streams. */
export function processIO(): CliIO {
  return {
    stdout: quietOnClosedPipe(process.stdout),
    stderr: quietOnClosedPipe(process.stderr),
    // process.stdin builds its stream on first access; only a passphrase prompt needs it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: workingFolder(),
  };
}

/** process.cwd(), or CLI_WORKING_FOLDER_GONE when the folder was removed under the shell. */
function workingFolder(): string {
  try {
    return process.cwd();
  } catch (e) {
    throw new OcitrustError('CLI_WORKING_FOLDER_GONE', `the working folder no longer exists (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): cd to an existing folder`, { cause: e });
  }
}
