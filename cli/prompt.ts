import { OcitrustError } from '../lib/errors/index.js';
import type { CliIO } from './io.js';

/** Input typed ahead of a prompt, per terminal stream. */
const pending = new WeakMap<object, string>();

/** True when a no-echo prompt is possible: stdin and stderr are terminals. */
export function canPrompt(io: CliIO): boolean {
  return io.stdin.isTTY === true && io.stderr.isTTY === true && typeof io.stdin.setRawMode === 'function';
}

/**
 * Reads one line from the terminal without echoing it (passphrases). The question goes to
 * stderr. Backspace edits; Ctrl-C or Ctrl-D on an empty line aborts.
 *
 * @throws PROMPT_ABORTED, PASSPHRASE_UNAVAILABLE (no terminal)
 */
export function promptHidden(io: CliIO, question: string): Promise<string> {
  if (!canPrompt(io)) {
    return Promise.reject(new OcitrustError('PASSPHRASE_UNAVAILABLE', 'a passphrase is needed and there is no terminal to ask on'));
  }
  const stdin = io.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    let finished = false;
    const wasRaw = stdin.isRaw;
    const done = (err?: OcitrustError): void => {
      finished = true;
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      const chars = [...chunk.toString('utf8')];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i]!;
        if (ch === '\r' || ch === '\n') {
          // Typed ahead (a retry, the repeat): kept for the next prompt of this command.
          const rest = chars.slice(i + 1).join('').replace(/^\n/, '');
          if (rest) pending.set(stdin, (pending.get(stdin) ?? '') + rest);
          return done();
        }
        if (ch === '\u0003' || (ch === '\u0004' && value.length === 0)) return done(new OcitrustError('PROMPT_ABORTED', 'passphrase prompt interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    io.stderr.write(question);
    const ahead = pending.get(stdin);
    pending.delete(stdin);
    stdin.setRawMode(true);
    if (ahead) {
      onData(ahead);
      if (finished) return;
    }
    stdin.resume();
    stdin.on('data', onData);
  });
}
