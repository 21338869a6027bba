import { createHash } from 'node:crypto';
import { OcitrustError, describe } from '../errors/index.js';

/** Supported digest algorithms (OCI digest prefixes). */
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LEN: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^(sha256|sha512):([0-9a-f]+)$/;

/** SHA-256 of bytes, raw. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-512 of bytes, raw. */
export function sha512(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha512').update(data).digest());
}

/** OCI digest string (`sha256:<hex>`) of bytes. */
export function digestOf(data: Uint8Array | string, alg: DigestAlgorithm = 'sha256'): string {
  if (!(data instanceof Uint8Array) && typeof data !== 'string') throw new OcitrustError('INVALID_ARGUMENT', `data: expected Uint8Array or string, got ${describe(data)}`);
  if (alg !== 'sha256' && alg !== 'sha512') throw new OcitrustError('INVALID_ARGUMENT', `alg: expected sha256 or sha512, got ${describe(alg)}`);
  return `${alg}:${createHash(alg).update(data).digest('hex')}`;
}

/** A parsed OCI digest. */
export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

/**
 * Parses `sha256:<64 hex>` or `sha512:<128 hex>` (lowercase only, as OCI requires).
 * @throws OcitrustError INVALID_DIGEST
 */
export function parseDigest(d: unknown): ParsedDigest {
  if (typeof d !== 'string') throw new OcitrustError('INVALID_DIGEST', `expected a digest string, got ${typeof d}`);
  const m = DIGEST_RE.exec(d);
  if (!m || m[2]!.length !== HEX_LEN[m[1] as DigestAlgorithm]) {
    throw new OcitrustError('INVALID_DIGEST', `not a valid sha256/sha512 digest: ${JSON.stringify(d.slice(0, 80))}`);
  }
  return { algorithm: m[1] as DigestAlgorithm, hex: m[2]! };
}

/** True when `d` is a valid digest string. */
export function isDigest(d: unknown): d is string {
  if (typeof d !== 'string') return false;
  const m = DIGEST_RE.exec(d);
  return !!m && m[2]!.length === HEX_LEN[m[1] as DigestAlgorithm];
}

/** True when the bytes hash to the digest (algorithm taken from the digest). */
export function matchesDigest(data: Uint8Array, digest: string): boolean {
  const { algorithm, hex } = parseDigest(digest);
  return createHash(algorithm).update(data).digest('hex') === hex;
}

/** Lowercase hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Bytes of a lowercase/uppercase hex string of even length; null when not hex.
 * Strict: no prefix, no whitespace.
 */
export function fromHex(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/**
 * The chunks of a body joined into one array (one copy; a single chunk is returned as it is).
 * @example concatBytes([a, b]) // a followed by b
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Constant-time comparison of equal-length byte arrays (false on length mismatch). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
