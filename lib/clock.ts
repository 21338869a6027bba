/** Source of the current time, injected so that verification is deterministic in tests. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock fixed at `at` (tests, known-answer vectors). */
export function fixedClock(at: Date | string): Clock {
  const t = new Date(at).getTime();
  return { now: () => new Date(t) };
}

/** Formats a date as TUF/DESIGN wants it: `YYYY-MM-DDTHH:MM:SSZ` (no fractional seconds). */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Parses `YYYY-MM-DDTHH:MM:SSZ` strictly; null when the string is not of that form or not a real date. */
export function parseTime(s: unknown): Date | null {
  if (typeof s !== 'string') return null;
  const m = TIME_RE.exec(s);
  if (!m) return null;
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || formatTime(d) !== s) return null;
  return d;
}
