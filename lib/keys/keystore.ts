import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError, assertArg } from '../errors/index.js';
import type { Clock } from '../clock.js';
import type { PublicKey } from './key.js';
import { randomSecret, type LocalSigner, type SigningAlgorithm } from './signer.js';
import { KeyFile, readKeyFile, writeKeyFile } from './keyfile.js';
import { parseSigningKeyPem, privateKeyToPem, publicKeyToPem } from './pem.js';

/** Key names: short, lowercase, safe as file names on every platform. */
export const KEY_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Shortest keyid prefix accepted as a reference (shorter ones collide too easily). */
export const MIN_KEYID_PREFIX = 6;
const SUFFIX = '.key';

/** One key of a {@link KeyStore}, as listed (no secret material). */
export interface KeyEntry {
  readonly name: string;
  readonly keyid: string;
  /** `YYYY-MM-DDTHH:MM:SSZ` */
  readonly created: string;
}

/** What {@link KeyStore.generate} and {@link KeyStore.importPem} return. */
export interface NewKey {
  readonly name: string;
  readonly keyid: string;
  readonly publicKey: PublicKey;
  /** SPKI PEM of the public key, for `openssl pkeyutl -verify` or for publishing. */
  readonly publicPem: string;
}

/** Options of {@link KeyStore}. */
export interface KeyStoreOptions {
  /** scrypt N for new key files (default 2^15; tests may not go lower). */
  readonly scryptN?: number;
  /** Source of `created` times. */
  readonly clock?: Clock;
}

/**
 * A directory of passphrase-encrypted key files, one `<name>.key` per key (DESIGN §2); the CLI
 * uses `~/.ocitrust/keys`. The directory is created with mode 0700 and every file with 0600.
 * Keys are referred to by name, full keyid or a keyid prefix of at least 6 hex characters
 * (a name wins over a prefix that happens to look like one).
 */
export class KeyStore {
  readonly dir: string;
  readonly #opts: KeyStoreOptions;

  constructor(dir: string, opts: KeyStoreOptions = {}) {
    assertArg(typeof dir === 'string' && dir.length > 0, 'dir', 'non-empty string', dir);
    this.dir = dir;
    this.#opts = opts;
  }

  /** `~/.ocitrust/keys`. */
  static defaultDir(): string {
    return join(homedir(), '.ocitrust', 'keys');
  }

  /**
   * Generates a new key (Ed25519 by default, or ECDSA P-256 with `type`) and stores it encrypted under `passphrase`.
   * @throws OcitrustError KEY_NAME_INVALID, KEY_EXISTS, KEYFILE_IO, INVALID_ARGUMENT
   */
  async generate(name: string, passphrase: string, opts: { readonly type?: SigningAlgorithm } = {}): Promise<NewKey> {
    const algorithm = opts.type ?? 'ed25519';
    assertArg(algorithm === 'ed25519' || algorithm === 'ecdsa-p256', 'opts.type', "'ed25519' or 'ecdsa-p256'", algorithm);
    const seed = randomSecret(algorithm);
    try {
      return await this.#store(name, seed, passphrase, algorithm);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * Imports an unencrypted PKCS#8 PEM Ed25519 private key (e.g. from `openssl genpkey
   * -algorithm ed25519`) and stores it encrypted under `passphrase`.
   * @throws OcitrustError PEM_MALFORMED, PEM_UNSUPPORTED, PEM_ENCRYPTED, KEY_NAME_INVALID,
   *   KEY_EXISTS, KEYFILE_IO, INVALID_ARGUMENT
   */
  async importPem(pem: string | Uint8Array, name: string, passphrase: string): Promise<NewKey> {
    checkName(name);
    const { algorithm, secret: seed } = parseSigningKeyPem(pem);
    try {
      return await this.#store(name, seed, passphrase, algorithm);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * The keys in the store, sorted by name. Files that are not `<valid name>.key` (temp files,
   * notes) are ignored; a `.key` file that does not parse is an error, not silently skipped.
   * @throws OcitrustError KEYFILE_IO, KEYFILE_MALFORMED and the other parse codes of KeyFile.parse
   */
  async list(): Promise<KeyEntry[]> {
    return (await this.#all()).map(({ name, file }) => ({ name, keyid: file.keyid, created: file.created }));
  }

  /**
   * Decrypts a key and returns a signer for it.
   * @throws OcitrustError KEY_NOT_FOUND, KEY_AMBIGUOUS, KEY_PASSPHRASE_WRONG, KEYFILE_CORRUPT,
   *   KEYFILE_KEY_MISMATCH, KEYFILE_IO
   */
  async loadSigner(ref: string, passphrase: string): Promise<LocalSigner> {
    return (await this.#resolve(ref)).file.signer(passphrase);
  }

  /**
   * The public key of a stored key (no passphrase needed).
   * @throws OcitrustError KEY_NOT_FOUND, KEY_AMBIGUOUS, KEYFILE_IO
   */
  async publicKey(ref: string): Promise<PublicKey> {
    return (await this.#resolve(ref)).file.publicKey;
  }

  /**
   * SPKI PEM of a stored key's public key.
   * @throws OcitrustError KEY_NOT_FOUND, KEY_AMBIGUOUS, KEYFILE_IO
   */
  async exportPublicPem(ref: string): Promise<string> {
    return publicKeyToPem(await this.publicKey(ref));
  }

  /**
   * Decrypts a key and returns it as unencrypted PKCS#8 PEM (usable by `openssl pkeyutl -sign`).
   * The result is secret: write it only to a 0600 file.
   * @throws OcitrustError KEY_NOT_FOUND, KEY_AMBIGUOUS, KEY_PASSPHRASE_WRONG, KEYFILE_CORRUPT, KEYFILE_IO
   */
  async exportPrivatePem(ref: string, passphrase: string): Promise<string> {
    const { file } = await this.#resolve(ref);
    const seed = await file.decrypt(passphrase);
    try {
      return privateKeyToPem(seed, file.algorithm);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * Finds a key by name, full keyid or keyid prefix (≥ 6 hex characters).
   * @throws OcitrustError KEY_NOT_FOUND, KEY_AMBIGUOUS, KEYFILE_IO
   */
  async resolve(ref: string): Promise<KeyEntry & { readonly path: string }> {
    const { name, file } = await this.#resolve(ref);
    return { name, keyid: file.keyid, created: file.created, path: this.#path(name) };
  }

  async #resolve(ref: string): Promise<{ name: string; file: KeyFile }> {
    assertArg(typeof ref === 'string' && ref.length > 0, 'key', 'key name, keyid or keyid prefix', ref);
    if (KEY_NAME_PATTERN.test(ref)) {
      const byName = await this.#read(ref);
      if (byName) return { name: ref, file: byName };
    }
    const prefix = ref.toLowerCase();
    if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_KEYID_PREFIX || prefix.length > 64) {
      throw new OcitrustError('KEY_NOT_FOUND', `no key named ${JSON.stringify(ref.slice(0, 80))} in ${this.dir} (keyid prefixes need at least ${MIN_KEYID_PREFIX} hex characters)`);
    }
    const hits = (await this.#all()).filter((k) => k.file.keyid.startsWith(prefix));
    if (hits.length === 0) throw new OcitrustError('KEY_NOT_FOUND', `no key with name or keyid ${JSON.stringify(ref)} in ${this.dir}`);
    if (hits.length > 1) {
      throw new OcitrustError('KEY_AMBIGUOUS', `keyid prefix ${ref} matches ${hits.length} keys: ${hits.map((h) => h.name).join(', ')}`);
    }
    return hits[0]!;
  }

  async #store(name: string, seed: Uint8Array, passphrase: string, algorithm: SigningAlgorithm): Promise<NewKey> {
    checkName(name);
    assertArg(typeof passphrase === 'string' && passphrase.length > 0, 'passphrase', 'non-empty string', passphrase);
    await this.#ensureDir();
    const taken = () => new OcitrustError('KEY_EXISTS', `a key named ${JSON.stringify(name)} already exists in ${this.dir}`);
    if (await this.#read(name)) throw taken();
    const file = await KeyFile.encrypt(seed, passphrase, {
      ...(this.#opts.scryptN !== undefined ? { scryptN: this.#opts.scryptN } : {}),
      ...(this.#opts.clock !== undefined ? { clock: this.#opts.clock } : {}),
      algorithm,
    });
    const same = (await this.#all()).find((k) => k.file.keyid === file.keyid);
    if (same) throw new OcitrustError('KEY_EXISTS', `this key is already in the store as ${JSON.stringify(same.name)} (keyid ${file.keyid})`);
    try {
      await writeKeyFile(this.#path(name), file);
    } catch (e) {
      // Lost a race with another writer of the same name: link() refused to replace its file.
      throw e instanceof OcitrustError && e.code === 'KEY_EXISTS' ? taken() : e;
    }
    return { name, keyid: file.keyid, publicKey: file.publicKey, publicPem: publicKeyToPem(file.publicKey) };
  }

  #path(name: string): string {
    return join(this.dir, name + SUFFIX);
  }

  async #ensureDir(): Promise<void> {
    try {
      const first = await mkdir(this.dir, { recursive: true, mode: 0o700 });
      // mkdir's mode is filtered by the umask; make the store itself exactly 0700 when we made it.
      if (first !== undefined) await chmod(this.dir, 0o700);
    } catch (e) {
      throw new OcitrustError('KEYFILE_IO', `cannot create key store ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The key file of `name`, or null when there is none. */
  async #read(name: string): Promise<KeyFile | null> {
    const path = this.#path(name);
    try {
      await stat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new OcitrustError('KEYFILE_IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
    return withPath(path, () => readKeyFile(path));
  }

  async #all(): Promise<{ name: string; file: KeyFile }[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new OcitrustError('KEYFILE_IO', `cannot list key store ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
    const names = entries
      .filter((f) => f.endsWith(SUFFIX))
      .map((f) => f.slice(0, -SUFFIX.length))
      .filter((n) => KEY_NAME_PATTERN.test(n))
      .sort();
    const out: { name: string; file: KeyFile }[] = [];
    for (const name of names) {
      const path = this.#path(name);
      out.push({ name, file: await withPath(path, () => readKeyFile(path)) });
    }
    return out;
  }
}

/** Names the file in parse errors so that `trust key list` points at the bad one. */
async function withPath<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof OcitrustError && !e.message.includes(path)) {
      throw new OcitrustError(e.code, `${path}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !KEY_NAME_PATTERN.test(name)) {
    throw new OcitrustError('KEY_NAME_INVALID', `invalid key name ${JSON.stringify(String(name).slice(0, 80))}: use [a-z0-9][a-z0-9._-]{0,63}`);
  }
}
