import type { CliIO } from './io.js';

/**
 * A one-line progress bar on stderr, drawn only on a terminal and not with --quiet; it never
 * touches stdout, so JSON output stays clean.
 */
export function progressBar(io: CliIO, label: string, quiet: boolean): { update(done: number, total: number): void; end(): void } {
  const on = io.stderr.isTTY === true && !quiet;
  let drawn = false;
  return {
    update(done, total) {
      if (!on || total <= 1) return;
      const w = 24;
      const fill = Math.round((Math.min(done, total) / total) * w);
      io.stderr.write(`\r${label} [${'#'.repeat(fill)}${' '.repeat(w - fill)}] ${done}/${total}`);
      drawn = true;
    },
    end() {
      if (drawn) io.stderr.write('\r\u001b[2K');
      drawn = false;
    },
  };
}
