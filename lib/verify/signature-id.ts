import { assertArg } from '../errors/index.js';
import { digestOf, type DigestAlgorithm } from '../crypto/hash.js';
import { keyFingerprint } from '../crypto/key-fingerprint.js';
import { pae, verifyEnvelope, type Envelope } from '../statements/dsse.js';
import type { PublicKey } from '../keys/key.js';
import type { RevokedSignature } from './trust.js';

/** One verified signature as a revocation names it (DESIGN §6), with the keyid it verified under. */
export interface SignatureId extends RevokedSignature {
  /** The trusted keyid whose key verified (for display; revocations name `key`). */
  readonly keyid: string;
}

/**
 * Digest of the DSSE PAE(payloadType, payload) of an envelope: what every signature in it
 * signed, whatever the envelope's JSON layout, base64 alphabet or padding.
 */
export function paeDigestOf(env: Envelope, alg: DigestAlgorithm = 'sha256'): string {
  assertArg(typeof env === 'object' && env !== null && typeof env.payloadType === 'string' && env.payload instanceof Uint8Array, 'env', 'parsed Envelope {payloadType, payload}', env);
  assertArg(alg === 'sha256' || alg === 'sha512', 'alg', "'sha256' or 'sha512'", alg);
  return digestOf(pae(env.payloadType, env.payload), alg);
}

/**
 * The signatures of `env` that keys of `keys` verify, named the way a revocation names them:
 * the fingerprint of the key material that verified (never the keyid hint) and the PAE digest.
 * One entry per distinct key material, so one key listed under two keyids appears once.
 */
export function signatureIds(env: Envelope, keys: ReadonlyMap<string, PublicKey>): SignatureId[] {
  const paeDigest = paeDigestOf(env);
  const out = new Map<string, SignatureId>();
  for (const k of verifyEnvelope(env, keys)) {
    const key = keyFingerprint(k);
    if (!out.has(key)) out.set(key, Object.freeze({ key, keyid: k.keyid, pae: paeDigest }));
  }
  return [...out.values()];
}
