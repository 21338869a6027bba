import { OcitrustError } from '../lib/errors/index.js';

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 };

/**
 * Parses a duration such as `90d`, `12h`, `1y`, `1d12h` into seconds.
 * @throws CLI_USAGE
 */
export function parseDuration(s: string, what = 'duration'): number {
  const re = /(\d+)([smhdwy])/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (s.length === 0 || pos !== s.length || total <= 0 || !Number.isSafeInteger(total) || total > 100 * 365 * 86_400) {
    throw new OcitrustError('CLI_USAGE', `${what}: expected a duration such as 90d, 12h, 1y or 1d12h, got ${JSON.stringify(s.slice(0, 40))}`);
  }
  return total;
}
