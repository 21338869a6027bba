import { constants, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import { decodeSpki } from './spki.js';

/*
 * RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt: the `rsapss` method Notary signs
 * with (Go's rsa.SignPSS with PSSSaltLengthEqualsHash). Verify-only: ocitrust does not make
 * RSA keys. PKCS#1 v1.5 is not accepted: one scheme per key format.
 */

/** Smallest modulus accepted (NIST SP 800-131A: below 2048 bits is disallowed). */
export const MIN_RSA_BITS = 2048;
/** Largest modulus accepted: bounds the cost of one verification (Notary writes 2048 or 4096). */
export const MAX_RSA_BITS = 4096;
/** PSS salt length, in bytes (= the SHA-256 output length). */
export const RSA_PSS_SALT_BYTES = 32;

/** A validated RSA public key and the DER SPKI it re-exports to (its one encoding). */
export interface RsaPublicKey {
  readonly key: KeyObject;
  readonly spki: Uint8Array;
  readonly bits: number;
}

/**
 * Validates a node KeyObject as an RSA public key of 2048 to 4096 bits with an odd public
 * exponent ≥ 3. @throws KEY_UNSUPPORTED (not RSA), KEY_INVALID (size or exponent)
 */
export function rsaFromKeyObject(key: KeyObject): RsaPublicKey {
  if (key.asymmetricKeyType !== 'rsa') throw new OcitrustError('KEY_UNSUPPORTED', `expected an RSA key, got ${String(key.asymmetricKeyType)}`);
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const bits = pub.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new OcitrustError('KEY_INVALID', `RSA key: expected a modulus of ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, got ${bits}`);
  }
  const e = pub.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (e < 3n || e % 2n === 0n) throw new OcitrustError('KEY_INVALID', `RSA key: expected an odd public exponent >= 3, got ${e}`);
  return { key: pub, bits, spki: new Uint8Array(pub.export({ format: 'der', type: 'spki' })) };
}

/**
 * Parses a DER SubjectPublicKeyInfo holding an RSA key (rsaEncryption).
 * @throws KEY_INVALID, KEY_UNSUPPORTED
 */
export function rsaFromSpki(der: Uint8Array): RsaPublicKey {
  const key = decodeSpki(der, 'RSA public key', 2048);
  return rsaFromKeyObject(key);
}

/**
 * Verifies RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32). The signature must be exactly the
 * modulus length. Malformed input returns false; never throws.
 */
export function verifyRsaPss(signature: Uint8Array, message: Uint8Array, key: RsaPublicKey): boolean {
  if (!(signature instanceof Uint8Array) || !(message instanceof Uint8Array)) return false;
  if (signature.length !== Math.ceil(key.bits / 8)) return false;
  try {
    return nodeVerify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: RSA_PSS_SALT_BYTES }, signature);
  } catch {
    return false;
  }
}
