import { PublicKey } from './key.js';
import { signEd25519, publicKeyOf } from '../crypto/ed25519.js';
import { assertArg } from '../errors/index.js';

/**
 * Anything that can make Ed25519 signatures for one key: a key file, a KMS, an HSM.
 * `sign` is async so that remote signers fit.
 */
export interface Signer {
  /** The TUF keyid of the signing key. */
  readonly keyid: string;
  /** The public half. */
  readonly publicKey: PublicKey;
  /** Pure Ed25519 (RFC 8032) signature over `data`. */
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
