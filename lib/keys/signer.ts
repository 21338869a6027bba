import { PublicKey } from './key.js';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signEd25519, publicKeyOf, randomSecretSeed } from '../crypto/ed25519.js';
import { p256PrivateKey, p256Scalar, signEcdsaP256 } from '../crypto/ecdsa-p256.js';
import { assertArg } from '../errors/index.js';

/**
 * Anything that can make signatures for one key (Ed25519, or ECDSA P-256 in DER): a key file, a KMS, an HSM.
 * `sign` is async so that remote signers fit.
 */
export interface Signer {
  /** The TUF keyid of the signing key. */
  readonly keyid: string;
  /** The public half. */
  readonly publicKey: PublicKey;
  /** A signature over `data` that `publicKey.verify` accepts: pure Ed25519 (RFC 8032), or ECDSA P-256 DER. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A signer over an in-memory 32-byte seed (key files decrypt into one of these). */
export class SeedSigner implements Signer {
  readonly keyid: string;
  readonly publicKey: PublicKey;
  readonly #seed: Uint8Array;

  constructor(seed: Uint8Array) {
    assertArg(seed instanceof Uint8Array && seed.length === 32, 'seed', 'Uint8Array of length 32', seed);
    this.#seed = new Uint8Array(seed);
    this.publicKey = PublicKey.fromRaw(publicKeyOf(this.#seed));
    this.keyid = this.publicKey.keyid;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return signEd25519(data, this.#seed);
  }

  /** Synchronous signing, for benchmarks and test fixtures. */
  signSync(data: Uint8Array): Uint8Array {
    return signEd25519(data, this.#seed);
  }
}

/**
 * A signer over an in-memory ECDSA P-256 private key (its 32-byte scalar). Signatures are DER
 * (ASN.1), low S, over SHA-256 of the data: what TUF (`ecdsa-sha2-nistp256`), tuf-js and DSSE
 * verifiers expect. Its public key is written in the TUF form ({@link PublicKey.fromEcdsaP256}).
 */
export class EcdsaP256Signer implements Signer {
  readonly keyid: string;
  readonly publicKey: PublicKey;
  readonly #key: KeyObject;

  /** @throws INVALID_ARGUMENT (not 32 bytes), KEY_INVALID (scalar 0 or ≥ n) */
  constructor(scalar: Uint8Array) {
    this.#key = p256PrivateKey(scalar);
    this.publicKey = PublicKey.fromEcdsaP256(createPublicKey(this.#key));
    this.keyid = this.publicKey.keyid;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    return signEcdsaP256(data, this.#key, 'der');
  }

  /** Synchronous signing, for benchmarks and test fixtures. */
  signSync(data: Uint8Array): Uint8Array {
    return signEcdsaP256(data, this.#key, 'der');
  }
}

/** Key types ocitrust can sign with. */
export type SigningAlgorithm = 'ed25519' | 'ecdsa-p256';

/** A signer with a synchronous form too (the in-memory signers). */
export type LocalSigner = SeedSigner | EcdsaP256Signer;

/**
 * The signer of a 32-byte secret: an Ed25519 seed or an ECDSA P-256 scalar.
 * @throws INVALID_ARGUMENT, KEY_INVALID
 */
export function localSigner(algorithm: SigningAlgorithm, secret: Uint8Array): LocalSigner {
  assertArg(algorithm === 'ed25519' || algorithm === 'ecdsa-p256', 'algorithm', "'ed25519' or 'ecdsa-p256'", algorithm);
  return algorithm === 'ed25519' ? new SeedSigner(secret) : new EcdsaP256Signer(secret);
}

/** A fresh random secret of the algorithm (CSPRNG): an Ed25519 seed or a P-256 scalar. */
export function randomSecret(algorithm: SigningAlgorithm): Uint8Array {
  assertArg(algorithm === 'ed25519' || algorithm === 'ecdsa-p256', 'algorithm', "'ed25519' or 'ecdsa-p256'", algorithm);
  if (algorithm === 'ed25519') return randomSecretSeed();
  return p256Scalar(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}
