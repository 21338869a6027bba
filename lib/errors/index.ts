import { CATALOGUE, type ErrorCode } from './catalog.js';
import type { CodeSpec } from './spec.js';

export type { ErrorCode } from './catalog.js';
export type { CodeSpec } from './spec.js';
export { CATALOGUE } from './catalog.js';

/**
 * The one error type of ocitrust. Every failure that reaches a user carries a stable `code`
 * from the catalogue (docs/errors.md), from which the CLI exit code and the HTTP status follow.
 */
export class OcitrustError extends Error {
  readonly code: ErrorCode;
  /** Optional structured context (never secrets). */
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, opts?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OcitrustError';
    this.code = code;
    if (opts?.details) this.details = Object.freeze({ ...opts.details });
  }

  /** The catalogue entry of this error's code. */
  get spec(): CodeSpec {
    return CATALOGUE[this.code];
  }

  /** CLI exit code: 1 failed, 2 usage/input, 3 environment. */
  get exitCode(): 1 | 2 | 3 {
    return CATALOGUE[this.code].exit;
  }

  /** HTTP status for a server answering with this error. */
  get httpStatus(): number {
    return CATALOGUE[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True when `e` is an {@link OcitrustError}, optionally with the given code. */
export function isOcitrustError(e: unknown, code?: ErrorCode): e is OcitrustError {
  return e instanceof OcitrustError && (code === undefined || e.code === code);
}

/**
 * Wraps anything thrown into an OcitrustError: ours pass through, anything else becomes
 * `fallback` (default INTERNAL) with the original as `cause`.
 */
export function toOcitrustError(e: unknown, fallback: ErrorCode = 'INTERNAL'): OcitrustError {
  if (e instanceof OcitrustError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new OcitrustError(fallback, msg, { cause: e });
}

/** Describes a value for "expected X, got Y" messages without echoing large or secret input. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(length=${v.length})`;
  if (v instanceof Uint8Array) return `Uint8Array(length=${v.length})`;
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? 'Date' : 'Invalid Date';
  if (typeof v === 'string') return `string(length=${v.length})`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `number ${v}`;
  return typeof v;
}

/** Throws INVALID_ARGUMENT unless `cond` holds; `expected` describes the valid input. */
export function assertArg(cond: unknown, name: string, expected: string, got: unknown): asserts cond {
  if (!cond) throw new OcitrustError('INVALID_ARGUMENT', `${name}: expected ${expected}, got ${describe(got)}`);
}
