import { OcitrustError } from '../lib/errors/index.js';
import { quietOnClosedPipe } from './closed-pipe.js';

/** Where the CLI reads and writes: the process streams, or test doubles. */
export interface CliIO {
  readonly stdout: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
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
