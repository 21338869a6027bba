import * as ed from '@noble/ed25519';
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

// noble's synchronous API needs a SHA-512; wired once, here.
ed.hashes.sha512 = nobleSha512;

/**
 * Strict RFC 8032 verification. noble defaults to ZIP-215 (`zip215: true`), which accepts
 * non-canonical encodings and small-order keys; DESIGN §2 requires the strict branch so that
 * the CLI, the server and the hook can never disagree on one signature.
 */
const STRICT = { zip215: false } as const;

/**
 * Verifies an Ed25519 signature (strict RFC 8032). Malformed input (wrong lengths,
 * undecodable points) returns false; it never throws.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return ed.verify(signature, message, publicKey, STRICT);
  } catch {
    return false;
  }
}

/** Signs `message` with a 32-byte Ed25519 secret seed (RFC 8032 pure Ed25519). */
export function signEd25519(message: Uint8Array, secretSeed: Uint8Array): Uint8Array {
  return ed.sign(message, secretSeed);
}

/** Public key (32 bytes) of a 32-byte secret seed. */
export function publicKeyOf(secretSeed: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretSeed);
}

/** A fresh random 32-byte secret seed. */
export function randomSecretSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/**
 * True when `publicKey` is an acceptable verification key: 32 bytes, a canonical encoding
 * of a point on the curve, and not of small order (such keys make forgeries trivial).
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  try {
    const p = ed.Point.fromBytes(publicKey, false);
    if (p.isSmallOrder()) return false;
    // fromBytes(zip215=false) rejects non-canonical y; re-encode to be sure.
    const re = p.toBytes();
    for (let i = 0; i < 32; i++) if (re[i] !== publicKey[i]) return false;
    return true;
  } catch {
    return false;
  }
}
