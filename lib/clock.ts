import { OcitrustError, assertArg, describe } from './errors/index.js';

/** Source of the current time, injected so that verification is deterministic in tests. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock fixed at `at` (tests, known-answer vectors).
 * @throws INVALID_ARGUMENT when `at` is not a valid Date or date string.
 */
export function fixedClock(at: Date | string): Clock {
  assertArg(at instanceof Date || typeof at === 'string', 'at', 'a Date or a date string', at);
  const t = new Date(at).getTime();
  // An Invalid Date compares false with everything, which reads as "not expired": refuse it here.
  assertArg(Number.isFinite(t), 'at', 'a valid date', at);
  return { now: () => new Date(t) };
}

/** True for a Date that holds a time (not an Invalid Date). */
export function isValidDate(v: unknown): v is Date {
  return v instanceof Date && Number.isFinite(v.getTime());
}

/**
 * Checks that `v` is a Clock (an object with `now()`), without calling it.
 * @throws INVALID_ARGUMENT
 */
export function assertClock(v: unknown, name = 'clock'): asserts v is Clock {
  assertArg(typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function', name, 'Clock {now(): Date}', v);
}

/**
 * Reads `clock` once and checks the answer (a copy of it is returned). Every time check
 * compares against this value, and every comparison with an Invalid Date is false, so a clock
 * answering one would switch every expiry check off (issue 12): it is a coded error instead.
 * A throwing clock becomes one too.
 *
 * @example const now = readClock(opts.clock ?? systemClock, 'opts.clock');
 * @throws INVALID_ARGUMENT when `clock` is not a Clock or `now()` gives anything but a valid Date.
 */
export function readClock(clock: unknown, name = 'clock'): Date {
  assertClock(clock, name);
  let now: unknown;
  try {
    now = clock.now();
  } catch (e) {
    throw new OcitrustError('INVALID_ARGUMENT', `${name}.now(): expected a valid Date, got an exception (${e instanceof Error ? e.message : describe(e)})`, { cause: e });
  }
  if (!isValidDate(now)) {
    throw new OcitrustError('INVALID_ARGUMENT', `${name}.now(): expected a valid Date, got ${describe(now)}`);
  }
  // A copy: the caller's Date may be changed later, the instant read here may not.
  return new Date(now.getTime());
}

/**
 * Formats a date as TUF/DESIGN wants it: `YYYY-MM-DDTHH:MM:SSZ` (no fractional seconds).
 * @throws INVALID_ARGUMENT for anything but a valid Date (never a raw RangeError).
 */
export function formatTime(d: Date): string {
  assertArg(isValidDate(d), 'date', 'a valid Date', d);
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
