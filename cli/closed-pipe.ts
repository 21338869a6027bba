/**
 * A reader that went away (`trust … | head -1`) closes the pipe: the rest of the output has
 * nowhere to go, which is not an error of ours. Stop quietly with the exit code so far, as a
 * Unix filter does, instead of Node's stack trace for an unhandled EPIPE. Used by the CLI's
 * streams (cli/io.ts) and by the warm verifier's client (cli/verify-daemon-client.ts), which
 * loads nothing else of the CLI.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (stream.listenerCount('error') === 0) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw e;
    });
  }
  return stream;
}
