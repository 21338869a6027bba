import type { CliIO } from './io.js';

/** Output format of a command (`-o text|json`). */
export type OutputFormat = 'text' | 'json';

/** ANSI styling, enabled only on a terminal and never with NO_COLOR (https://no-color.org). */
export interface Style {
  readonly enabled: boolean;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/** The style for a stream. */
export function styleFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  const enabled = stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (s: string): string => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { enabled, green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** Visible width of a string (ANSI sequences do not count). */
function width(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Rows as aligned columns (two spaces apart); the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  ').trimEnd())
    .join('\n') + '\n';
}

/** Writes a command's results: JSON documents (one line) or text. */
export class Output {
  readonly format: OutputFormat;
  readonly quiet: boolean;
  readonly style: Style;
  readonly errStyle: Style;
  readonly #io: CliIO;

  constructor(io: CliIO, format: OutputFormat, quiet: boolean) {
    this.#io = io;
    this.format = format;
    this.quiet = quiet;
    this.style = styleFor(io.stdout, io.env);
    this.errStyle = styleFor(io.stderr, io.env);
  }

  get json(): boolean {
    return this.format === 'json';
  }

  /** A JSON document on stdout (compact, one line). */
  data(v: unknown): void {
    this.#io.stdout.write(JSON.stringify(v) + '\n');
  }

  /** Text for people on stdout (nothing in JSON mode, nothing with --quiet). */
  text(s: string): void {
    if (this.json || this.quiet) return;
    this.#io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  }

  /** Text that is the result itself (a key, a token): printed even with --quiet, never in JSON mode. */
  result(s: string): void {
    if (this.json) return;
    this.#io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  }

  /** A notice on stderr (not with --quiet). */
  notice(s: string): void {
    if (this.quiet) return;
    this.#io.stderr.write(s.endsWith('\n') ? s : s + '\n');
  }

  /** A warning that matters for security (TOFU): on stderr even with --quiet. */
  warn(s: string): void {
    this.#io.stderr.write(`${this.errStyle.yellow('warning:')} ${s}\n`);
  }
}
