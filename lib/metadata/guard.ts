import { OcitrustError, describe } from '../errors/index.js';
import { isJsonObject } from '../json.js';
import { parseTime } from '../clock.js';

// Shape guards for untrusted metadata JSON. Every failure is METADATA_INVALID naming the JSON
// path, so malformed input never escapes as a TypeError (style anchor: tuf-js utils/guard.ts).

/** Throws METADATA_INVALID for `where`. */
export function invalid(where: string, msg: string): never {
  throw new OcitrustError('METADATA_INVALID', `${where}: ${msg}`);
}

/** A JSON object. @throws METADATA_INVALID */
export function obj(v: unknown, where: string): Record<string, unknown> {
  if (!isJsonObject(v)) invalid(where, `expected an object, got ${describe(v)}`);
  return v;
}

/** A string. @throws METADATA_INVALID */
export function str(v: unknown, where: string): string {
  if (typeof v !== 'string') invalid(where, `expected a string, got ${describe(v)}`);
  return v;
}

/** A boolean. @throws METADATA_INVALID */
export function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') invalid(where, `expected a boolean, got ${describe(v)}`);
  return v;
}

/** A safe integer ≥ `min`. @throws METADATA_INVALID */
export function int(v: unknown, where: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) invalid(where, `expected an integer, got ${describe(v)}`);
  if (v < min) invalid(where, `must be at least ${min}, got ${v}`);
  return v;
}

/** An array. @throws METADATA_INVALID */
export function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) invalid(where, `expected an array, got ${describe(v)}`);
  return v;
}

/** An array of strings. @throws METADATA_INVALID */
export function strArray(v: unknown, where: string): string[] {
  return arr(v, where).map((x, i) => str(x, `${where}[${i}]`));
}

const KEYID_RE = /^[0-9a-f]{64}$/;

/** A keyid: 64 lowercase hex characters (SHA-256). @throws METADATA_INVALID */
export function keyid(v: unknown, where: string): string {
  if (typeof v !== 'string' || !KEYID_RE.test(v)) invalid(where, 'expected a keyid (64 lowercase hex characters)');
  return v;
}

/** `YYYY-MM-DDTHH:MM:SSZ`, strictly. @throws METADATA_INVALID */
export function time(v: unknown, where: string): { text: string; date: Date } {
  const d = parseTime(v);
  if (d === null) invalid(where, 'expected a date of the form YYYY-MM-DDTHH:MM:SSZ');
  return { text: v as string, date: d };
}

/** Deep-freezes a JSON value in place and returns it. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v as object)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * The members of `o` not in `known`, cloned and frozen: unrecognized fields are kept so that
 * re-serializing reproduces the signed bytes (tuf-js `unrecognizedFields`).
 */
export function rest(o: Record<string, unknown>, known: readonly string[]): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!known.includes(k)) Object.defineProperty(out, k, { value: structuredClone(v), enumerable: true, writable: true, configurable: true });
  }
  return deepFreeze(out);
}

/** A fresh, mutable copy of unrecognized fields for toJSON. */
export function unfrozen(u: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(u)) {
    Object.defineProperty(out, k, { value: structuredClone(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
