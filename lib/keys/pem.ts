import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { OcitrustError, assertArg } from '../errors/index.js';
import { publicKeyOf } from '../crypto/ed25519.js';
import { p256FromKeyObject, p256FromSpki, p256PrivateKey, p256Scalar } from '../crypto/ecdsa-p256.js';
import type { SigningAlgorithm } from './signer.js';
import { bytesEqual } from '../crypto/hash.js';
import { PublicKey } from './key.js';

/*
 * PKCS#8 (RFC 5958) and SubjectPublicKeyInfo (RFC 5280) for Ed25519 as RFC 8410 profiles them,
 * i.e. what `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write. The DER
 * reader below knows just enough ASN.1 for these two structures and is strict (definite,
 * minimal lengths; nothing trailing) so that one key has one accepted encoding.
 */

/** Largest PEM text accepted; an Ed25519 key is ~120 bytes of PEM, certificates bundles are not keys. */
export const MAX_PEM_BYTES = 64 * 1024;

const OID_ED25519 = '2b6570';
/** Other key algorithms, named in PEM_UNSUPPORTED messages. */
const OTHER_OIDS: Record<string, string> = {
  '2a864886f70d010101': 'RSA',
  '2a864886f70d01010a': 'RSA-PSS',
  '2a8648ce3d0201': 'ECDSA (id-ecPublicKey)',
  '2a8648ce380401': 'DSA',
  '2b656e': 'X25519',
  '2b656f': 'X448',
  '2b6571': 'Ed448',
};
/** PEM labels of other key formats (RFC 7468 and legacy OpenSSL/OpenSSH ones). */
const OTHER_LABELS: Record<string, string> = {
  'RSA PRIVATE KEY': 'an RSA key (PKCS#1)',
  'RSA PUBLIC KEY': 'an RSA key (PKCS#1)',
  'EC PRIVATE KEY': 'an EC key (SEC 1)',
  'EC PARAMETERS': 'EC parameters',
  'DSA PRIVATE KEY': 'a DSA key',
  'OPENSSH PRIVATE KEY': 'an OpenSSH-format key',
  CERTIFICATE: 'a certificate',
};

const PKCS8_V1_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

interface PemBlock {
  label: string;
  /** base64 lines of the body */
  lines: string[];
  /** RFC 1421 header lines, e.g. legacy OpenSSL's "Proc-Type: 4,ENCRYPTED" and "DEK-Info: ..." */
  headers: string[];
}

const bad = (msg: string): never => {
  throw new OcitrustError('PEM_MALFORMED', msg);
};

/** Splits PEM text into blocks; text outside blocks (openssl's explanatory lines) is ignored. */
function pemBlocks(input: string | Uint8Array): PemBlock[] {
  assertArg(typeof input === 'string' || input instanceof Uint8Array, 'pem', 'string or Uint8Array', input);
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_PEM_BYTES) throw new OcitrustError('INPUT_TOO_LARGE', `PEM input: ${size} bytes, limit ${MAX_PEM_BYTES}`);
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  const blocks: PemBlock[] = [];
  let label: string | null = null;
  let body: string[] = [];
  let headers: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[ \t\r]+$/, '');
    if (label === null) {
      const m = /^-----BEGIN ([A-Z0-9 ]{1,64})-----$/.exec(line);
      if (m) {
        label = m[1]!;
        body = [];
        headers = [];
      }
      continue;
    }
    if (line.startsWith('-----END ')) {
      if (line !== `-----END ${label}-----`) bad(`PEM block "${label}" is closed by a different END line`);
      blocks.push({ label, lines: body, headers });
      label = null;
      continue;
    }
    if (line.startsWith('-----')) bad(`PEM block "${label}" is not closed before the next block`);
    if (line.includes(':')) {
      headers.push(line);
      continue;
    }
    if (line.length > 0) body.push(line);
  }
  if (label !== null) bad(`PEM block "${label}" has no END line`);
  if (blocks.length === 0) bad('no PEM block found (expected -----BEGIN PRIVATE KEY----- or -----BEGIN PUBLIC KEY-----)');
  return blocks;
}

/** Throws the most specific error for a block we cannot use: another format, or encrypted. */
function refuseForeign(block: PemBlock): void {
  const other = OTHER_LABELS[block.label];
  if (other !== undefined) {
    throw new OcitrustError('PEM_UNSUPPORTED', `PEM block "${block.label}" is ${other}; only Ed25519 keys are supported`);
  }
  if (block.label === 'ENCRYPTED PRIVATE KEY' || block.headers.some((h) => /^Proc-Type:.*ENCRYPTED/i.test(h))) {
    throw new OcitrustError('PEM_ENCRYPTED', 'the PEM private key is encrypted; decrypt it first (openssl pkey -in enc.pem -out plain.pem)');
  }
}

function decodeBody(block: PemBlock): Uint8Array {
  refuseForeign(block);
  const label = block.label;
  if (block.headers.length > 0) bad(`PEM block "${label}" has unexpected header lines`);
  const b64 = block.lines.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0 || b64.length === 0) bad(`PEM block "${label}": body is not valid base64`);
  const der = new Uint8Array(Buffer.from(b64, 'base64'));
  // Node's decoder is lenient; insisting on the round trip keeps one encoding per key.
  if (Buffer.from(der).toString('base64') !== b64) bad(`PEM block "${label}": body is not canonical base64`);
  return der;
}

interface Tlv {
  tag: number;
  /** content start */
  start: number;
  /** content end (exclusive), also where the next element starts */
  end: number;
}

/** Reads one DER element at `off` that must end by `limit`: single-byte tags, minimal definite lengths. */
function tlv(b: Uint8Array, off: number, limit: number, what: string): Tlv {
  if (off + 2 > limit) bad(`DER: truncated ${what}`);
  const tag = b[off]!;
  if ((tag & 0x1f) === 0x1f) bad(`DER: unexpected multi-byte tag in ${what}`);
  let len = b[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 2 || start + n > limit) bad(`DER: bad length of ${what}`);
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | b[start + i]!;
    if (len < 0x80 || (n === 2 && len < 0x100)) bad(`DER: non-minimal length of ${what}`);
    start += n;
  }
  if (start + len > limit) bad(`DER: ${what} overruns its container`);
  return { tag, start, end: start + len };
}

function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) bad(`DER: expected ${what} (tag 0x${tag.toString(16)}), got tag 0x${t.tag.toString(16)}`);
  return t;
}

/** Checks AlgorithmIdentifier is id-Ed25519 with absent parameters (RFC 8410 §3). */
function checkAlgorithm(b: Uint8Array, alg: Tlv): void {
  const oid = expectTag(tlv(b, alg.start, alg.end, 'algorithm OID'), 0x06, 'algorithm OID');
  const hex = Buffer.from(b.subarray(oid.start, oid.end)).toString('hex');
  if (hex !== OID_ED25519) {
    const name = OTHER_OIDS[hex];
    throw new OcitrustError('PEM_UNSUPPORTED', name ? `the PEM key is ${name}; only Ed25519 keys are supported` : `the PEM key has an unknown algorithm (OID hex ${hex.slice(0, 40)}); only Ed25519 keys are supported`);
  }
  if (oid.end !== alg.end) bad('DER: Ed25519 AlgorithmIdentifier must not have parameters (RFC 8410)');
}

/** Parses DER PKCS#8 (v1, or v2 with the public key attached); returns the 32-byte seed. */
function parsePkcs8(der: Uint8Array): Uint8Array {
  const top = expectTag(tlv(der, 0, der.length, 'PrivateKeyInfo'), 0x30, 'PrivateKeyInfo SEQUENCE');
  if (top.end !== der.length) bad('DER: data after PrivateKeyInfo');
  const ver = expectTag(tlv(der, top.start, top.end, 'version'), 0x02, 'version INTEGER');
  if (ver.end - ver.start !== 1 || der[ver.start]! > 1) bad('DER: PKCS#8 version must be 0 or 1');
  const version = der[ver.start]!;
  const alg = expectTag(tlv(der, ver.end, top.end, 'AlgorithmIdentifier'), 0x30, 'AlgorithmIdentifier SEQUENCE');
  checkAlgorithm(der, alg);
  const outer = expectTag(tlv(der, alg.end, top.end, 'privateKey'), 0x04, 'privateKey OCTET STRING');
  // RFC 8410 §7: CurvePrivateKey ::= OCTET STRING, wrapped in the privateKey OCTET STRING.
  const inner = expectTag(tlv(der, outer.start, outer.end, 'CurvePrivateKey'), 0x04, 'CurvePrivateKey OCTET STRING');
  if (inner.end !== outer.end || inner.end - inner.start !== 32) bad('DER: Ed25519 private key must be 32 bytes');
  const seed = der.slice(inner.start, inner.end);
  let off = outer.end;
  if (off < top.end && der[off] === 0xa0) off = tlv(der, off, top.end, 'attributes').end; // [0] attributes: ignored
  if (off < top.end) {
    const pub = tlv(der, off, top.end, 'publicKey');
    if (pub.tag !== 0x81 || version !== 1) bad('DER: unexpected element after the private key');
    if (pub.end - pub.start !== 33 || der[pub.start] !== 0) bad('DER: attached public key must be 32 bytes');
    if (!bytesEqual(der.subarray(pub.start + 1, pub.end), publicKeyOf(seed))) {
      throw new OcitrustError('KEY_INVALID', 'the public key attached to the PKCS#8 private key does not belong to it');
    }
    off = pub.end;
  }
  if (off !== top.end) bad('DER: data after the private key');
  return seed;
}

/** Parses DER SubjectPublicKeyInfo; returns the 32 raw public key bytes. */
function parseSpki(der: Uint8Array): Uint8Array {
  const top = expectTag(tlv(der, 0, der.length, 'SubjectPublicKeyInfo'), 0x30, 'SubjectPublicKeyInfo SEQUENCE');
  if (top.end !== der.length) bad('DER: data after SubjectPublicKeyInfo');
  const alg = expectTag(tlv(der, top.start, top.end, 'AlgorithmIdentifier'), 0x30, 'AlgorithmIdentifier SEQUENCE');
  checkAlgorithm(der, alg);
  const bits = expectTag(tlv(der, alg.end, top.end, 'subjectPublicKey'), 0x03, 'subjectPublicKey BIT STRING');
  if (bits.end !== top.end) bad('DER: data after the public key');
  if (bits.end - bits.start !== 33 || der[bits.start] !== 0) bad('DER: Ed25519 public key must be 32 bytes');
  return der.slice(bits.start + 1, bits.end);
}

/** DER of the one block labelled `label`; with none, explains what was found instead. */
function singleDer(blocks: PemBlock[], label: string): Uint8Array {
  const found = blocks.filter((b) => b.label === label);
  if (found.length === 0) {
    blocks.forEach(refuseForeign);
    bad(`no ${label} PEM block found (labels present: ${blocks.map((b) => b.label).join(', ')})`);
  }
  if (found.length > 1) bad(`${found.length} ${label} PEM blocks found; pass exactly one`);
  return decodeBody(found[0]!);
}

/**
 * Imports an unencrypted PKCS#8 PEM Ed25519 private key, as `openssl genpkey -algorithm ed25519`
 * writes it, and returns its 32-byte seed. Text around the block is ignored; exactly one
 * private key block must be present.
 *
 * @throws OcitrustError PEM_MALFORMED, PEM_UNSUPPORTED (other algorithm or format),
 *   PEM_ENCRYPTED, KEY_INVALID (attached public key mismatch), INPUT_TOO_LARGE, INVALID_ARGUMENT
 */
export function parsePrivateKeyPem(pem: string | Uint8Array): Uint8Array {
  return parsePkcs8(singleDer(pemBlocks(pem), 'PRIVATE KEY'));
}

/**
 * Imports an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout`
 * writes it): Ed25519 (point canonical, not small order) or ECDSA P-256 (point on the curve;
 * returned in the TUF form {@link PublicKey.fromEcdsaP256}).
 *
 * @throws OcitrustError PEM_MALFORMED, PEM_UNSUPPORTED, KEY_INVALID, INPUT_TOO_LARGE, INVALID_ARGUMENT
 */
export function parsePublicKeyPem(pem: string | Uint8Array): PublicKey {
  const der = singleDer(pemBlocks(pem), 'PUBLIC KEY');
  if (isEcSpki(der)) {
    try {
      return PublicKey.fromEcdsaP256(p256FromSpki(der).key);
    } catch (e) {
      if (e instanceof OcitrustError && e.code === 'KEY_UNSUPPORTED') throw new OcitrustError('PEM_UNSUPPORTED', `the PEM key is not usable: ${e.message}; supported: Ed25519 and ECDSA P-256`, { cause: e });
      throw e;
    }
  }
  return PublicKey.fromRaw(parseSpki(der));
}

/** True when an SPKI's AlgorithmIdentifier is id-ecPublicKey. */
function isEcSpki(der: Uint8Array): boolean {
  try {
    const top = tlv(der, 0, der.length, 'SubjectPublicKeyInfo');
    const alg = tlv(der, top.start, top.end, 'AlgorithmIdentifier');
    const oid = tlv(der, alg.start, alg.end, 'algorithm OID');
    return Buffer.from(der.subarray(oid.start, oid.end)).toString('hex') === '2a8648ce3d0201';
  } catch {
    return false;
  }
}

function armor(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * PKCS#8 v1 PEM of a 32-byte Ed25519 seed, byte-identical to what OpenSSL writes, so that
 * `openssl pkeyutl -sign -rawin -inkey key.pem` can use it; with `algorithm` `ecdsa-p256`, the
 * PKCS#8 PEM of the P-256 key with scalar `seed` (as `openssl genpkey -algorithm EC` writes).
 * The result is secret.
 * @throws OcitrustError INVALID_ARGUMENT, KEY_INVALID
 */
export function privateKeyToPem(seed: Uint8Array, algorithm: SigningAlgorithm = 'ed25519'): string {
  assertArg(seed instanceof Uint8Array && seed.length === 32, 'seed', 'Uint8Array of length 32', seed);
  assertArg(algorithm === 'ed25519' || algorithm === 'ecdsa-p256', 'algorithm', "'ed25519' or 'ecdsa-p256'", algorithm);
  if (algorithm === 'ecdsa-p256') return p256PrivateKey(seed).export({ format: 'pem', type: 'pkcs8' }).toString();
  const der = new Uint8Array(PKCS8_V1_PREFIX.length + 32);
  der.set(PKCS8_V1_PREFIX);
  der.set(seed, PKCS8_V1_PREFIX.length);
  const pem = armor('PRIVATE KEY', der);
  der.fill(0);
  return pem;
}

/**
 * SPKI PEM (`-----BEGIN PUBLIC KEY-----`) of an Ed25519 public key.
 * @throws OcitrustError INVALID_ARGUMENT, KEY_INVALID
 */
export function publicKeyToPem(key: PublicKey | Uint8Array): string {
  assertArg(key instanceof PublicKey || key instanceof Uint8Array, 'key', 'PublicKey or Uint8Array', key);
  if (key instanceof PublicKey && key.algorithm === 'ecdsa-p256') {
    return createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, key.publicKey]), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
  }
  if (key instanceof PublicKey && key.algorithm !== 'ed25519') throw new OcitrustError('KEY_UNSUPPORTED', `expected an Ed25519 or ECDSA P-256 key, got ${key.algorithm}`);
  const raw = key instanceof PublicKey ? key.publicKey : PublicKey.fromRaw(key).publicKey;
  const der = new Uint8Array(SPKI_PREFIX.length + 32);
  der.set(SPKI_PREFIX);
  der.set(raw, SPKI_PREFIX.length);
  return armor('PUBLIC KEY', der);
}

/** DER SPKI header of an uncompressed P-256 point. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/**
 * Imports an unencrypted private key PEM for signing: Ed25519 PKCS#8 (strictly, as
 * {@link parsePrivateKeyPem}), or ECDSA P-256 as PKCS#8 (`-----BEGIN PRIVATE KEY-----`, what
 * `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes) or SEC 1
 * (`-----BEGIN EC PRIVATE KEY-----`, `openssl ecparam -genkey`), decoded by node:crypto and
 * checked to be P-256. Returns the algorithm and the 32-byte secret (seed or scalar; the
 * caller wipes it).
 *
 * @throws OcitrustError PEM_MALFORMED, PEM_UNSUPPORTED (other algorithm or curve), PEM_ENCRYPTED,
 *   KEY_INVALID, INPUT_TOO_LARGE, INVALID_ARGUMENT
 */
export function parseSigningKeyPem(pem: string | Uint8Array): { algorithm: SigningAlgorithm; secret: Uint8Array } {
  const blocks = pemBlocks(pem);
  const ec = blocks.filter((b) => b.label === 'EC PRIVATE KEY' || (b.label === 'PRIVATE KEY' && isEcPkcs8(b)));
  if (ec.length === 0) return { algorithm: 'ed25519', secret: parsePrivateKeyPem(pem) };
  if (ec.length > 1 || blocks.some((b) => b.label === 'PRIVATE KEY' && !ec.includes(b))) bad(`${blocks.length} private key PEM blocks found; pass exactly one`);
  const block = ec[0]!;
  if (block.headers.some((h) => /^Proc-Type:.*ENCRYPTED/i.test(h))) {
    throw new OcitrustError('PEM_ENCRYPTED', 'the PEM private key is encrypted; decrypt it first (openssl pkey -in enc.pem -out plain.pem)');
  }
  if (block.headers.length > 0) bad(`PEM block "${block.label}" has unexpected header lines`);
  const text = armor(block.label, decodeBodyOf(block));
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    throw new OcitrustError('PEM_MALFORMED', `PEM block "${block.label}": not a private key node:crypto can decode (${(e as Error).message})`, { cause: e });
  }
  try {
    p256FromKeyObject(key);
  } catch (e) {
    throw new OcitrustError('PEM_UNSUPPORTED', `the PEM key is not usable for signing: ${(e as Error).message}; supported: Ed25519 and ECDSA P-256`, { cause: e });
  }
  return { algorithm: 'ecdsa-p256', secret: p256Scalar(key) };
}

/** The DER of a block, base64 checked strictly (labels other than ours allowed: EC keys). */
function decodeBodyOf(block: PemBlock): Uint8Array {
  const b64 = block.lines.join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0 || b64.length === 0) bad(`PEM block "${block.label}": body is not valid base64`);
  const der = new Uint8Array(Buffer.from(b64, 'base64'));
  if (Buffer.from(der).toString('base64') !== b64) bad(`PEM block "${block.label}": body is not canonical base64`);
  return der;
}

/** True when a PRIVATE KEY block's AlgorithmIdentifier is id-ecPublicKey. */
function isEcPkcs8(block: PemBlock): boolean {
  try {
    const der = decodeBodyOf(block);
    const top = tlv(der, 0, der.length, 'PrivateKeyInfo');
    const ver = tlv(der, top.start, top.end, 'version');
    const alg = tlv(der, ver.end, top.end, 'AlgorithmIdentifier');
    const oid = tlv(der, alg.start, alg.end, 'algorithm OID');
    return Buffer.from(der.subarray(oid.start, oid.end)).toString('hex') === '2a8648ce3d0201';
  } catch {
    return false;
  }
}
