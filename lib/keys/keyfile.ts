import { scrypt as scryptCb, randomBytes, createHash, type ScryptOptions } from 'node:crypto';
import { open } from 'node:fs/promises';
import { OcitrustError, assertArg } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js';
import type { KeyAlgorithm } from '../crypto/key-fingerprint.js';
import { formatTime, parseTime, systemClock, type Clock } from '../clock.js';
import { PublicKey, type TufKeyJSON } from './key.js';
import { localSigner, type LocalSigner, type SigningAlgorithm } from './signer.js';
import { writeFileAtomic } from './atomic-write.js';

/**
 * The cipher, loaded when a key is encrypted or decrypted: commands that only verify open the
 * key store's folder but never a key file's secret, and need not load @noble/ciphers.
 */
async function cipher(): Promise<typeof import('@noble/ciphers/chacha.js').xchacha20poly1305> {
  return (await import('@noble/ciphers/chacha.js')).xchacha20poly1305;
}

/*
 * Private key file, format version 1 (DESIGN §2). Example:
 *
 * {"type":"ocitrust-private-key","version":1,
 *  "keyid":"<64 hex>","key":{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"<64 hex>"}},
 *  "created":"2026-01-01T00:00:00Z",
 *  "kdf":{"name":"scrypt","N":32768,"r":8,"p":1,"salt":"<32 hex>"},
 *  "cipher":{"name":"xchacha20-poly1305","nonce":"<48 hex>"},
 *  "check":"<64 hex>","ciphertext":"<96 hex>"}
 *
 * The ciphertext holds a 32-byte secret: the Ed25519 seed, or the ECDSA P-256 scalar d when
 * `key` is an ECDSA key ({"keytype":"ecdsa","scheme":"ecdsa-sha2-nistp256",...}): the key type
 * is read from `key`, which the AEAD authenticates, so it cannot be swapped.
 *
 * scrypt(NFC(passphrase), salt) yields 64 bytes: the first 32 are the AEAD key, SHA-256 of the
 * last 32 is `check`. `check` lets a wrong passphrase be told apart from a tampered file without
 * making guessing cheaper (every guess still costs one scrypt). The AEAD's associated data is the
 * canonical JSON of every field except `ciphertext`, so altering any header field (keyid, key,
 * created, kdf, cipher, check) makes decryption fail. Unknown fields are refused: a secret-bearing
 * file is parsed strictly, and a future format bumps `version`.
 */

/** Value of the `type` field. */
export const KEYFILE_TYPE = 'ocitrust-private-key';
/** The format version written and read. */
export const KEYFILE_VERSION = 1;
/** Largest key file read; a version-1 file is under 1 KiB. */
export const MAX_KEYFILE_BYTES = 64 * 1024;
/** Weakest scrypt cost accepted (DESIGN §2). */
export const MIN_SCRYPT_N = 1 << 15;
/** Default scrypt cost for new files. */
export const DEFAULT_SCRYPT_N = 1 << 15;
/** Most scrypt memory (128·N·r·p bytes) a key file may demand; beyond it a file is a memory bomb. */
const MAX_SCRYPT_MEMORY = 1 << 30;
const SALT_BYTES = 16;
const NONCE_BYTES = 24;
const CIPHERTEXT_BYTES = 32 + 16;
const FIELDS = new Set(['type', 'version', 'keyid', 'key', 'created', 'kdf', 'cipher', 'check', 'ciphertext']);

/** scrypt parameters as recorded in a key file. */
export interface ScryptParams {
  readonly name: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Uint8Array;
}

/** The JSON form of a version-1 key file. */
export interface KeyFileJSON {
  type: typeof KEYFILE_TYPE;
  version: 1;
  keyid: string;
  key: TufKeyJSON;
  created: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'xchacha20-poly1305'; nonce: string };
  check: string;
  ciphertext: string;
}

/** Options of {@link KeyFile.encrypt}. */
export interface EncryptOptions {
  /** scrypt N (power of two, ≥ 2^15; default 2^15). */
  readonly scryptN?: number;
  /** Source of the `created` time (default: the system clock). */
  readonly clock?: Clock;
  /** What the secret is (default `ed25519`: a seed; `ecdsa-p256`: a P-256 scalar). */
  readonly algorithm?: SigningAlgorithm;
}

function signingAlgorithm(alg: KeyAlgorithm): SigningAlgorithm {
  if (alg === 'ed25519' || alg === 'ecdsa-p256') return alg;
  throw new OcitrustError('KEYFILE_UNSUPPORTED', `key file: ${alg} keys cannot be used for signing (ed25519 or ecdsa-p256)`);
}

const malformed = (msg: string): never => {
  throw new OcitrustError('KEYFILE_MALFORMED', `key file: ${msg}`);
};

function hexField(v: unknown, bytes: number | [number, number], what: string): Uint8Array {
  const [min, max] = typeof bytes === 'number' ? [bytes, bytes] : bytes;
  if (typeof v !== 'string' || !/^[0-9a-f]*$/.test(v) || v.length % 2 !== 0) return malformed(`${what} must be lowercase hex`);
  if (v.length / 2 < min || v.length / 2 > max) {
    return malformed(`${what} must be ${min === max ? min : `${min} to ${max}`} bytes, got ${v.length / 2}`);
  }
  return fromHex(v)!;
}

function onlyKeys(o: Record<string, unknown>, allowed: string[], what: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) malformed(`unknown field ${JSON.stringify(k.slice(0, 40))} in ${what}`);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Checks scrypt parameters: refuses weak ones and ones that would demand too much memory. */
function checkScrypt(kdf: Record<string, unknown>): ScryptParams {
  onlyKeys(kdf, ['name', 'N', 'r', 'p', 'salt'], 'kdf');
  const { N, r, p } = kdf;
  if (!isInt(N) || !isInt(r) || !isInt(p) || N < 2 || r < 1 || p < 1) return malformed('kdf N, r, p must be positive integers');
  if ((N & (N - 1)) !== 0) return malformed(`kdf N must be a power of two, got ${N}`);
  if (typeof kdf.salt !== 'string' || kdf.salt.length % 2 !== 0 || !/^[0-9a-f]*$/.test(kdf.salt)) return malformed('kdf salt must be lowercase hex');
  const saltLen = kdf.salt.length / 2;
  if (N < MIN_SCRYPT_N || r < 8 || saltLen < SALT_BYTES) {
    throw new OcitrustError('KEYFILE_WEAK_PARAMS', `key file: scrypt parameters too weak (N=${N}, r=${r}, p=${p}, salt ${saltLen} bytes; need N >= 2^15, r >= 8, salt >= 16 bytes)`);
  }
  if (r > 32 || p > 16 || saltLen > 64 || 128 * N * r * p > MAX_SCRYPT_MEMORY) {
    throw new OcitrustError('KEYFILE_UNSUPPORTED', `key file: scrypt parameters N=${N}, r=${r}, p=${p} exceed the supported range (at most 1 GiB of memory, r <= 32, p <= 16)`);
  }
  return { name: 'scrypt', N, r, p, salt: fromHex(kdf.salt)! };
}

function scrypt(passphrase: string, p: ScryptParams): Promise<Uint8Array> {
  const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * (p.p + 1) + (1 << 20) };
  return new Promise((resolve, reject) => {
    scryptCb(passphrase.normalize('NFC'), p.salt, 64, opts, (err, key) => {
      if (err) reject(new OcitrustError('KEYFILE_UNSUPPORTED', `key file: scrypt failed: ${err.message}`, { cause: err }));
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}

function checkValue(derived: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(derived.subarray(32, 64)).digest());
}

/**
 * A parsed, still encrypted private key file. Parsing checks everything that can be checked
 * without the passphrase (structure, lengths, parameters, keyid vs public key); {@link decrypt}
 * does the rest.
 */
export class KeyFile {
  /** The public key recorded in the file (validated, its keyid checked). */
  readonly publicKey: PublicKey;
  /** `YYYY-MM-DDTHH:MM:SSZ` */
  readonly created: string;
  readonly kdf: ScryptParams;
  readonly nonce: Uint8Array;
  readonly #check: Uint8Array;
  readonly #ciphertext: Uint8Array;

  private constructor(publicKey: PublicKey, created: string, kdf: ScryptParams, nonce: Uint8Array, check: Uint8Array, ciphertext: Uint8Array) {
    this.publicKey = publicKey;
    this.created = created;
    this.kdf = kdf;
    this.nonce = nonce;
    this.#check = check;
    this.#ciphertext = ciphertext;
  }

  /** The TUF keyid of the key. */
  get keyid(): string {
    return this.publicKey.keyid;
  }

  /**
   * Encrypts a 32-byte secret (Ed25519 seed, or P-256 scalar with `algorithm: 'ecdsa-p256'`)
   * under `passphrase` with fresh random salt and nonce.
   * @throws OcitrustError INVALID_ARGUMENT (empty passphrase, bad seed, N below 2^15 or not a power of two), KEY_INVALID
   */
  static async encrypt(seed: Uint8Array, passphrase: string, opts: EncryptOptions = {}): Promise<KeyFile> {
    assertArg(seed instanceof Uint8Array && seed.length === 32, 'seed', 'Uint8Array of length 32', seed);
    assertArg(typeof passphrase === 'string' && passphrase.length > 0, 'passphrase', 'non-empty string', passphrase);
    const N = opts.scryptN ?? DEFAULT_SCRYPT_N;
    assertArg(isInt(N) && N >= MIN_SCRYPT_N && (N & (N - 1)) === 0 && 128 * N * 8 <= MAX_SCRYPT_MEMORY, 'scryptN', 'power of two from 2^15 to 2^20', N);
    const publicKey = localSigner(opts.algorithm ?? 'ed25519', seed).publicKey;
    const created = formatTime((opts.clock ?? systemClock).now());
    const kdf: ScryptParams = { name: 'scrypt', N, r: 8, p: 1, salt: new Uint8Array(randomBytes(SALT_BYTES)) };
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const xchacha20poly1305 = await cipher();
    const derived = await scrypt(passphrase, kdf);
    try {
      const check = checkValue(derived);
      const draft = new KeyFile(publicKey, created, kdf, nonce, check, new Uint8Array(0));
      const ciphertext = xchacha20poly1305(derived.subarray(0, 32), nonce, draft.#aad()).encrypt(seed);
      return new KeyFile(publicKey, created, kdf, nonce, check, ciphertext);
    } finally {
      derived.fill(0);
    }
  }

  /**
   * Parses an untrusted key file (JSON text or bytes), strictly and bounded in size.
   * @throws OcitrustError KEYFILE_MALFORMED, KEYFILE_UNSUPPORTED, KEYFILE_WEAK_PARAMS,
   *   KEYFILE_KEY_MISMATCH (keyid does not match the key), INPUT_TOO_LARGE
   */
  static parse(input: string | Uint8Array): KeyFile {
    assertArg(typeof input === 'string' || input instanceof Uint8Array, 'input', 'string or Uint8Array', input);
    let v: unknown;
    try {
      v = parseJson(input, { maxBytes: MAX_KEYFILE_BYTES, maxDepth: 8, what: 'key file' });
    } catch (e) {
      if ((e as OcitrustError).code === 'INPUT_TOO_LARGE') throw e;
      throw new OcitrustError('KEYFILE_MALFORMED', `key file is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (!isJsonObject(v)) return malformed('not a JSON object');
    if (v.type !== KEYFILE_TYPE) return malformed(`type must be ${JSON.stringify(KEYFILE_TYPE)}`);
    if (v.version !== KEYFILE_VERSION) {
      throw new OcitrustError('KEYFILE_UNSUPPORTED', `key file: format version ${JSON.stringify(v.version)} is not supported (this ocitrust reads version ${KEYFILE_VERSION})`);
    }
    for (const k of Object.keys(v)) if (!FIELDS.has(k)) malformed(`unknown field ${JSON.stringify(k.slice(0, 40))}`);
    if (!isJsonObject(v.kdf) || typeof v.kdf.name !== 'string') return malformed('kdf must be an object with a name');
    if (v.kdf.name !== 'scrypt') throw new OcitrustError('KEYFILE_UNSUPPORTED', `key file: kdf ${JSON.stringify(v.kdf.name.slice(0, 40))} is not supported (scrypt)`);
    if (!isJsonObject(v.cipher) || typeof v.cipher.name !== 'string') return malformed('cipher must be an object with a name');
    if (v.cipher.name !== 'xchacha20-poly1305') {
      throw new OcitrustError('KEYFILE_UNSUPPORTED', `key file: cipher ${JSON.stringify(v.cipher.name.slice(0, 40))} is not supported (xchacha20-poly1305)`);
    }
    onlyKeys(v.cipher, ['name', 'nonce'], 'cipher');
    const kdf = checkScrypt(v.kdf);
    const nonce = hexField(v.cipher.nonce, NONCE_BYTES, 'cipher nonce');
    const check = hexField(v.check, 32, 'check');
    const ciphertext = hexField(v.ciphertext, CIPHERTEXT_BYTES, 'ciphertext');
    const created = typeof v.created === 'string' && parseTime(v.created) ? v.created : malformed('created must be YYYY-MM-DDTHH:MM:SSZ');
    let publicKey: PublicKey;
    try {
      if (isJsonObject(v.key)) onlyKeys(v.key, ['keytype', 'scheme', 'keyval'], 'key');
      if (isJsonObject(v.key) && isJsonObject(v.key.keyval)) onlyKeys(v.key.keyval, ['public'], 'key.keyval');
      publicKey = PublicKey.fromJSON(v.key);
    } catch (e) {
      if (e instanceof OcitrustError && e.code === 'KEYFILE_MALFORMED') throw e;
      throw new OcitrustError('KEYFILE_MALFORMED', `key file: bad public key: ${(e as Error).message}`, { cause: e });
    }
    signingAlgorithm(publicKey.algorithm);
    if (typeof v.keyid !== 'string' || !/^[0-9a-f]{64}$/.test(v.keyid)) return malformed('keyid must be 64 lowercase hex');
    if (v.keyid !== publicKey.keyid) {
      throw new OcitrustError('KEYFILE_KEY_MISMATCH', `key file: keyid ${v.keyid} does not match its public key (${publicKey.keyid})`);
    }
    return new KeyFile(publicKey, created, kdf, nonce, check, ciphertext);
  }

  /**
   * Decrypts the seed. The caller should `fill(0)` the result when done with it.
   * @throws OcitrustError KEY_PASSPHRASE_WRONG, KEYFILE_CORRUPT (right passphrase, altered file),
   *   KEYFILE_KEY_MISMATCH, INVALID_ARGUMENT
   */
  async decrypt(passphrase: string): Promise<Uint8Array> {
    assertArg(typeof passphrase === 'string', 'passphrase', 'string', passphrase);
    const xchacha20poly1305 = await cipher();
    const derived = await scrypt(passphrase, this.kdf);
    let seed: Uint8Array;
    try {
      if (!bytesEqual(checkValue(derived), this.#check)) {
        throw new OcitrustError('KEY_PASSPHRASE_WRONG', `wrong passphrase for key ${this.keyid.slice(0, 12)}`);
      }
      try {
        seed = xchacha20poly1305(derived.subarray(0, 32), this.nonce, this.#aad()).decrypt(this.#ciphertext);
      } catch (e) {
        throw new OcitrustError('KEYFILE_CORRUPT', `key file of ${this.keyid.slice(0, 12)}: authenticated decryption failed; the file was altered`, { cause: e });
      }
    } finally {
      derived.fill(0);
    }
    if (seed.length !== 32 || !this.#matches(seed)) {
      seed.fill(0);
      throw new OcitrustError('KEYFILE_KEY_MISMATCH', `key file of ${this.keyid.slice(0, 12)}: the decrypted key does not match the recorded public key`);
    }
    return seed;
  }

  /** Which kind of secret the file holds. */
  get algorithm(): SigningAlgorithm {
    return signingAlgorithm(this.publicKey.algorithm);
  }

  /** True when `secret` is the private half of the recorded public key. */
  #matches(secret: Uint8Array): boolean {
    try {
      return bytesEqual(localSigner(this.algorithm, secret).publicKey.publicKey, this.publicKey.publicKey);
    } catch {
      return false;
    }
  }

  /**
   * Decrypts and returns a signer for the key (Ed25519 or ECDSA P-256, as the file says).
   * @throws OcitrustError as {@link decrypt}
   */
  async signer(passphrase: string): Promise<LocalSigner> {
    const seed = await this.decrypt(passphrase);
    try {
      return localSigner(this.algorithm, seed);
    } finally {
      seed.fill(0);
    }
  }

  #header(): Omit<KeyFileJSON, 'ciphertext'> {
    return {
      type: KEYFILE_TYPE,
      version: KEYFILE_VERSION,
      keyid: this.keyid,
      key: this.publicKey.toJSON(),
      created: this.created,
      kdf: { name: 'scrypt', N: this.kdf.N, r: this.kdf.r, p: this.kdf.p, salt: toHex(this.kdf.salt) },
      cipher: { name: 'xchacha20-poly1305', nonce: toHex(this.nonce) },
      check: toHex(this.#check),
    };
  }

  /** Associated data: canonical JSON of every field but the ciphertext. */
  #aad(): Uint8Array {
    return canonicalBytes(this.#header());
  }

  /** The file's JSON form (nothing secret in clear; the seed stays encrypted). */
  toJSON(): KeyFileJSON {
    return { ...this.#header(), ciphertext: toHex(this.#ciphertext) };
  }

  /** The file's bytes as written to disk (pretty JSON, trailing newline). */
  serialize(): string {
    return JSON.stringify(this.toJSON(), null, 2) + '\n';
  }
}

/**
 * Writes a key file atomically with mode 0600 (temp file, fsync, rename, fsync of the directory).
 * @throws OcitrustError KEY_EXISTS (exists and overwrite not set), KEYFILE_IO
 */
export async function writeKeyFile(path: string, keyFile: KeyFile, opts: { overwrite?: boolean } = {}): Promise<void> {
  assertArg(typeof path === 'string' && path.length > 0, 'path', 'non-empty string', path);
  assertArg(keyFile instanceof KeyFile, 'keyFile', 'KeyFile', keyFile);
  await writeFileAtomic(path, keyFile.serialize(), { mode: 0o600, overwrite: opts.overwrite ?? false });
}

/**
 * Reads and parses a key file, reading at most {@link MAX_KEYFILE_BYTES} + 1 bytes.
 * @throws OcitrustError KEYFILE_IO, INPUT_TOO_LARGE and the codes of {@link KeyFile.parse}
 */
export async function readKeyFile(path: string): Promise<KeyFile> {
  assertArg(typeof path === 'string' && path.length > 0, 'path', 'non-empty string', path);
  let bytes: Uint8Array;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_KEYFILE_BYTES + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n === buf.length) break;
      }
      bytes = new Uint8Array(buf.buffer, buf.byteOffset, n);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new OcitrustError('KEYFILE_IO', `cannot read key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return KeyFile.parse(bytes);
}
