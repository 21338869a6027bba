import { createCipheriv, createDecipheriv, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { OcitrustError } from '../lib/errors/index.js';
import { isJsonObject, parseJson } from '../lib/json.js';
import { SeedSigner } from '../lib/keys/signer.js';

/** Parameters of the key derivation, stored in the database next to a check value. */
export interface VaultParams {
  v: 1;
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64 salt, 16 random bytes. */
  salt: string;
  /** Sealed known plaintext: opening it proves the secret matches (fail fast at start). */
  check: string;
}

/** Default scrypt cost: 2^15 as for key files (DESIGN §2); derived once per process. */
export const DEFAULT_SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;
const CHECK_PLAINTEXT = 'ocitrust server secret check v1';

/**
 * Seals server-held private keys (per-collection snapshot and timestamp seeds) at rest with
 * AES-256-GCM under a key derived from the server secret with scrypt. The associated data binds
 * each sealed key to its collection and role, so a database row copied to another collection or
 * role fails to open instead of silently signing for it.
 */
export class KeyVault {
  readonly #key: Buffer;
  readonly params: VaultParams;

  private constructor(key: Buffer, params: VaultParams) {
    this.#key = key;
    this.params = params;
  }

  /** A vault with fresh parameters (first start against an empty database). */
  static create(secret: string, cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT): KeyVault {
    const salt = randomBytes(16);
    const key = derive(secret, salt, cost);
    const params: VaultParams = { v: 1, kdf: 'scrypt', ...cost, salt: salt.toString('base64'), check: '' };
    const vault = new KeyVault(key, params);
    params.check = vault.seal(Buffer.from(CHECK_PLAINTEXT), 'check');
    return vault;
  }

  /**
   * Opens a vault from stored parameters.
   * @throws OcitrustError SERVER_SECRET_INVALID when the secret is not the one the parameters were made with
   */
  static open(secret: string, params: unknown): KeyVault {
    if (
      !isJsonObject(params) || params.v !== 1 || params.kdf !== 'scrypt' || typeof params.salt !== 'string' ||
      typeof params.check !== 'string' || !isCost(params.N, params.r, params.p)
    ) {
      throw new OcitrustError('SERVER_SECRET_INVALID', 'stored key vault parameters are malformed');
    }
    const p = params as unknown as VaultParams;
    const vault = new KeyVault(derive(secret, Buffer.from(p.salt, 'base64'), p), p);
    let ok = false;
    try {
      const got = vault.open(p.check, 'check');
      ok = got.length === CHECK_PLAINTEXT.length && timingSafeEqual(got, Buffer.from(CHECK_PLAINTEXT));
    } catch {
      ok = false;
    }
    if (!ok) throw new OcitrustError('SERVER_SECRET_INVALID', 'the server secret does not match the one this database was set up with');
    return vault;
  }

  /** Seals `plaintext` bound to `context`; returns a JSON string. */
  seal(plaintext: Uint8Array, context: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    c.setAAD(Buffer.from(`ocitrust/server-key/v1\0${context}`));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return JSON.stringify({ v: 1, cipher: 'aes-256-gcm', nonce: nonce.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') });
  }

  /**
   * Opens a sealed value made for the same `context`.
   * @throws OcitrustError SERVER_KEY_UNREADABLE
   */
  open(sealed: string, context: string): Buffer {
    let v: unknown;
    try {
      v = parseJson(sealed, { maxBytes: 4096, what: 'sealed server key' });
    } catch (e) {
      throw new OcitrustError('SERVER_KEY_UNREADABLE', 'sealed server key is not JSON', { cause: e });
    }
    if (!isJsonObject(v) || v.v !== 1 || v.cipher !== 'aes-256-gcm' || typeof v.nonce !== 'string' || typeof v.ct !== 'string' || typeof v.tag !== 'string') {
      throw new OcitrustError('SERVER_KEY_UNREADABLE', 'sealed server key has an unknown format');
    }
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(v.nonce, 'base64'));
      d.setAAD(Buffer.from(`ocitrust/server-key/v1\0${context}`));
      d.setAuthTag(Buffer.from(v.tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(v.ct, 'base64')), d.final()]);
    } catch (e) {
      throw new OcitrustError('SERVER_KEY_UNREADABLE', `sealed server key for ${context} does not open (wrong secret or damaged row)`, { cause: e });
    }
  }

  /** Seals an Ed25519 seed for `collection`/`role`. */
  sealSeed(seed: Uint8Array, collection: string, role: string): string {
    return this.seal(seed, `${collection}\0${role}`);
  }

  /**
   * Opens a sealed seed and returns a signer for it.
   * @throws OcitrustError SERVER_KEY_UNREADABLE
   */
  openSigner(sealed: string, collection: string, role: string): SeedSigner {
    const seed = this.open(sealed, `${collection}\0${role}`);
    if (seed.length !== 32) throw new OcitrustError('SERVER_KEY_UNREADABLE', `sealed ${role} key for ${collection} is not a 32-byte seed`);
    return new SeedSigner(seed);
  }
}

function isCost(N: unknown, r: unknown, p: unknown): boolean {
  return Number.isSafeInteger(N) && Number.isSafeInteger(r) && Number.isSafeInteger(p) &&
    (N as number) >= 1024 && (N as number) <= 1 << 22 && ((N as number) & ((N as number) - 1)) === 0 &&
    (r as number) >= 1 && (r as number) <= 32 && (p as number) >= 1 && (p as number) <= 16;
}

function derive(secret: string, salt: Buffer, cost: { N: number; r: number; p: number }): Buffer {
  return scryptSync(secret, salt, 32, { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 });
}
