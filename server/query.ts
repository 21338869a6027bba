import { OcitrustError, type ErrorCode } from '../lib/errors/index.js';

/**
 * A whole number from a query string parameter. Query values are strings (the server does not
 * coerce types), so numbers are parsed here: plain decimal digits only, within `[min, max]`;
 * no sign, exponent, fraction, blanks or leading zeros. Undefined when the parameter is absent.
 *
 * @throws OcitrustError `code` (default REQUEST_INVALID) naming the parameter, the range and what was sent
 * @example queryInteger(request.query.limit, 'limit', 1, 1000) // '25' → 25
 */
export function queryInteger(value: unknown, name: string, min: number, max: number, code: ErrorCode = 'REQUEST_INVALID'): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^(?:0|[1-9][0-9]{0,14})$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  const got = typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : Array.isArray(value) ? 'the parameter more than once' : typeof value;
  throw new OcitrustError(code, `${name}: expected an integer from ${min} to ${max}, got ${got}`);
}
