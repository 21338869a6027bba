import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { OcitrustError, assertArg } from '../errors/index.js';
import { decodeSpki } from './spki.js';

/*
 * ECDSA over NIST P-256 with SHA-256 (TUF scheme `ecdsa-sha2-nistp256`, Notary `ecdsa`).
 * node:crypto (OpenSSL) does the curve arithmetic; this file decides which bytes reach it:
 * one encoding per key format (DER for TUF-standard keys, raw r||s for Notary keys), r and s
 * checked to be in [1, n-1] and DER checked to be minimal before OpenSSL is asked, so that
 * the answer never depends on how lenient the linked OpenSSL is.
 *
 * Low-S: accepted and not required. Neither TUF nor Notary requires it and Notary's Go
 * signer does not produce it, so requiring it would refuse real signatures. ECDSA signatures
 * are therefore malleable ((r, s) and (r, n-s) both verify); that is why revocations name a
 * signature by key fingerprint + PAE digest, never by signature bytes. Signatures we make are
 * low-S anyway, for verifiers that insist.
 */

/** The order n of the P-256 group. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = P256_N >> 1n;
/** DER SPKI header of an uncompressed P-256 point (id-ecPublicKey, prime256v1, BIT STRING of 66). */
const SPKI_UNCOMPRESSED = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
/** The same for a compressed point (BIT STRING of 34). */
const SPKI_COMPRESSED = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
/** Most bytes a DER P-256 signature can take: SEQ(2) + 2 × INTEGER(2 + 33). */
export const MAX_DER_SIGNATURE_BYTES = 72;

/** How a signature is encoded: ASN.1 DER (TUF, DSSE, cosign) or raw r||s (Notary, JOSE). */
export type EcdsaSignatureEncoding = 'der' | 'ieee-p1363';

/** A validated P-256 public key: node's KeyObject and the 65-byte uncompressed point. */
export interface P256PublicKey {
  readonly key: KeyObject;
  /** 0x04 || X || Y */
  readonly point: Uint8Array;
}

/**
 * Validates a node KeyObject as a P-256 public key and returns its uncompressed point.
 * @throws KEY_UNSUPPORTED (other algorithm or curve)
 */
export function p256FromKeyObject(key: KeyObject): P256PublicKey {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const what = key.asymmetricKeyType === 'ec' ? `EC curve ${String(key.asymmetricKeyDetails?.namedCurve)}` : String(key.asymmetricKeyType);
    throw new OcitrustError('KEY_UNSUPPORTED', `expected an ECDSA P-256 key, got ${what}`);
  }
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const jwk = pub.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x ?? '', 'base64url');
  const y = Buffer.from(jwk.y ?? '', 'base64url');
  if (x.length !== 32 || y.length !== 32) throw new OcitrustError('KEY_INVALID', 'ECDSA P-256 key: coordinates are not 32 bytes');
  const point = new Uint8Array(65);
  point[0] = 4;
  point.set(x, 1);
  point.set(y, 33);
  return { key: pub, point };
}

/**
 * Parses a DER SubjectPublicKeyInfo holding a P-256 key. OpenSSL checks the point is on the
 * curve (and not the point at infinity) while decoding.
 * @throws KEY_INVALID (not SPKI, not on the curve), KEY_UNSUPPORTED (another algorithm or curve)
 */
export function p256FromSpki(der: Uint8Array): P256PublicKey {
  const key = decodeSpki(der, 'ECDSA public key', 1024);
  // Explicit curve parameters decode without a namedCurve and are refused there.
  return p256FromKeyObject(key);
}

/**
 * A P-256 point, compressed (33 bytes) or uncompressed (65 bytes), as a validated key.
 * @throws KEY_INVALID
 */
export function p256FromPoint(point: Uint8Array): P256PublicKey {
  assertArg(point instanceof Uint8Array, 'point', 'Uint8Array', point);
  let prefix: Buffer;
  if (point.length === 65 && point[0] === 4) prefix = SPKI_UNCOMPRESSED;
  else if (point.length === 33 && (point[0] === 2 || point[0] === 3)) prefix = SPKI_COMPRESSED;
  else throw new OcitrustError('KEY_INVALID', `ECDSA P-256 point: expected 33 bytes (02/03…) or 65 bytes (04…), got ${point.length} bytes`);
  try {
    return p256FromKeyObject(createPublicKey({ key: Buffer.concat([prefix, point]), format: 'der', type: 'spki' }));
  } catch (e) {
    if (e instanceof OcitrustError) throw e;
    throw new OcitrustError('KEY_INVALID', 'ECDSA P-256 point: not a point on the curve', { cause: e });
  }
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

function to32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

/** Reads one minimal positive DER INTEGER at `off`; returns its value and the next offset, or null. */
function derInt(b: Uint8Array, off: number): { v: bigint; next: number } | null {
  if (off + 2 > b.length || b[off] !== 0x02) return null;
  const len = b[off + 1]!;
  if (len === 0 || len > 33 || off + 2 + len > b.length) return null;
  const body = b.subarray(off + 2, off + 2 + len);
  if (body[0]! & 0x80) return null; // negative
  if (len > 1 && body[0] === 0 && !(body[1]! & 0x80)) return null; // non-minimal
  return { v: toBig(body), next: off + 2 + len };
}

/** r and s of a strict DER signature (SEQUENCE of two minimal positive INTEGERs), or null. */
function parseDer(sig: Uint8Array): [bigint, bigint] | null {
  if (sig.length < 8 || sig.length > MAX_DER_SIGNATURE_BYTES || sig[0] !== 0x30) return null;
  // At most 70 content bytes, so the length is always the short form.
  if (sig[1] !== sig.length - 2) return null;
  const r = derInt(sig, 2);
  if (!r) return null;
  const s = derInt(sig, r.next);
  if (!s || s.next !== sig.length) return null;
  return [r.v, s.v];
}

/**
 * r and s of `signature` in the given encoding, each checked to be in [1, n-1]; null for
 * anything else (wrong length, BER, trailing bytes, zero or out-of-range values).
 */
export function ecdsaSignatureValues(signature: Uint8Array, encoding: EcdsaSignatureEncoding): [bigint, bigint] | null {
  if (!(signature instanceof Uint8Array)) return null;
  let rs: [bigint, bigint] | null;
  if (encoding === 'ieee-p1363') rs = signature.length === 64 ? [toBig(signature.subarray(0, 32)), toBig(signature.subarray(32))] : null;
  else if (encoding === 'der') rs = parseDer(signature);
  else return null;
  if (!rs) return null;
  const [r, s] = rs;
  if (r < 1n || r >= P256_N || s < 1n || s >= P256_N) return null;
  return rs;
}

/**
 * Verifies an ECDSA P-256 / SHA-256 signature over `message`. Only `encoding` is accepted
 * (one encoding per key format); r and s must be in [1, n-1]; high S is accepted (see above).
 * Malformed input returns false; never throws.
 */
export function verifyEcdsaP256(signature: Uint8Array, message: Uint8Array, key: P256PublicKey, encoding: EcdsaSignatureEncoding): boolean {
  if (!(message instanceof Uint8Array)) return false;
  const rs = ecdsaSignatureValues(signature, encoding);
  if (!rs) return false;
  const raw = new Uint8Array(64);
  raw.set(to32(rs[0]), 0);
  raw.set(to32(rs[1]), 32);
  try {
    return nodeVerify('sha256', message, { key: key.key, dsaEncoding: 'ieee-p1363' }, raw);
  } catch {
    return false;
  }
}

/** Encodes (r, s) as strict DER. */
function encodeDer(r: bigint, s: bigint): Uint8Array {
  const int = (n: bigint): Buffer => {
    let h = n.toString(16);
    if (h.length % 2) h = '0' + h;
    let b = Buffer.from(h, 'hex');
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Uint8Array.from(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

/**
 * A P-256 private key from its 32-byte scalar d (1 ≤ d < n). OpenSSL derives the public point.
 * @throws KEY_INVALID
 */
export function p256PrivateKey(d: Uint8Array): KeyObject {
  assertArg(d instanceof Uint8Array && d.length === 32, 'd', 'Uint8Array of length 32', d);
  const v = toBig(d);
  if (v < 1n || v >= P256_N) throw new OcitrustError('KEY_INVALID', 'ECDSA P-256 private key: the scalar must be in [1, n-1]');
  // SEC 1 ECPrivateKey { version 1, privateKey d, [0] prime256v1 }, without the public key.
  const der = Buffer.concat([Buffer.from('30310201010420', 'hex'), d, Buffer.from('a00a06082a8648ce3d030107', 'hex')]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  } finally {
    der.fill(0);
  }
}

/** The 32-byte scalar d of a P-256 private KeyObject (secret: the caller wipes it). */
export function p256Scalar(key: KeyObject): Uint8Array {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new OcitrustError('KEY_UNSUPPORTED', 'expected an ECDSA P-256 private key');
  }
  const d = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  if (d.length !== 32) throw new OcitrustError('KEY_INVALID', 'ECDSA P-256 private key: scalar is not 32 bytes');
  return new Uint8Array(d);
}

/**
 * Signs `message` (ECDSA P-256, SHA-256) and returns the signature in `encoding`, always with
 * low S so that verifiers that require it accept it too.
 */
export function signEcdsaP256(message: Uint8Array, key: KeyObject, encoding: EcdsaSignatureEncoding = 'der'): Uint8Array {
  assertArg(message instanceof Uint8Array, 'message', 'Uint8Array', message);
  const raw = nodeSign('sha256', message, { key, dsaEncoding: 'ieee-p1363' });
  const r = toBig(raw.subarray(0, 32));
  let s = toBig(raw.subarray(32));
  if (s > HALF_N) s = P256_N - s;
  if (encoding === 'der') return encodeDer(r, s);
  const out = new Uint8Array(64);
  out.set(to32(r), 0);
  out.set(to32(s), 32);
  return out;
}

/**
 * A P-256 signature made elsewhere (an HSM's raw r||s, a KMS's DER) in the form ocitrust's own
 * signatures take: strict DER with low S.
 * @throws KEY_INVALID when it is neither a 64-byte r||s nor a valid DER signature (or not `encoding` when given)
 */
export function normalizeEcdsaP256Signature(signature: Uint8Array, encoding?: EcdsaSignatureEncoding): Uint8Array {
  // Without a stated encoding: DER when it parses as DER (a DER signature can be 64 bytes too), else r||s.
  const rs = encoding !== undefined ? ecdsaSignatureValues(signature, encoding) : (ecdsaSignatureValues(signature, 'der') ?? ecdsaSignatureValues(signature, 'ieee-p1363'));
  if (!rs) throw new OcitrustError('KEY_INVALID', `ECDSA P-256 signature: expected 64 bytes r||s or DER, got ${signature.length} bytes that are neither`);
  const [r, s] = rs;
  return encodeDer(r, s > HALF_N ? P256_N - s : s);
}
