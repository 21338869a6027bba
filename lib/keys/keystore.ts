import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError, assertArg } from '../errors/index.js';
import { canonicalBytes } from '../crypto/canonical.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Clock } from '../clock.js';
import type { PublicKey } from './key.js';
import { randomSecret, type LocalSigner, type Signer, type SigningAlgorithm } from './signer.js';
import { KeyFile, readKeyFile, writeKeyFile } from './keyfile.js';
import { KeyReference, readKeyReference, writeKeyReference } from './reference.js';
import { externalPublicKey, generateExternalKey, isExternalKeyRef, openExternalSigner, type ExternalKeyOptions } from './external.js';
import { parseSigningKeyPem, privateKeyToPem, publicKeyToPem } from './pem.js';

/** Key names: short, lowercase, safe as file names on every platform. */
export const KEY_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Shortest keyid prefix accepted as a reference (shorter ones collide too easily). */
export const MIN_KEYID_PREFIX = 6;
const SUFFIX = '.key';
/** Key references (keys in a PKCS#11 token or behind a signer plugin): lib/keys/reference.ts. */
const REF_SUFFIX = '.ref';

/** A stored key: an encrypted key file or a reference to an external key. */
type Stored = { name: string; file: KeyFile | KeyReference };

/** One key of a {@link KeyStore}, as listed (no secret material). */
export interface KeyEntry {
  readonly name: string;
  readonly keyid: string;
  /** `YYYY-MM-DDTHH:MM:SSZ` */
  readonly created: string;
  /** For a key held outside the store (PKCS#11 token, signer plugin): its reference. */
  readonly uri?: string;
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
  /** How external keys (PKCS#11, plugins) are reached: PIN provider, environment. */
  readonly external?: ExternalKeyOptions;
}

/**
 * A directory of passphrase-encrypted key files, one `<name>.key` per key (DESIGN §2); the CLI
 * uses `~/.ocitrust/keys`. The directory is created with mode 0700 and every file with 0600.
 * Keys are referred to by name, full keyid or a keyid prefix of at least 6 hex characters
 * (a name wins over a prefix that happens to look like one). A store keeps the keys it
 * unlocked (per file content and passphrase) for as long as it lives: make one per operation,
 * as the CLI does per command, not one for a long-running process.
 */
export class KeyStore {
  readonly dir: string;
  readonly #opts: KeyStoreOptions;
  /** How external keys are reached (the CLI sets its PIN provider here). */
  external: ExternalKeyOptions;
  /**
   * Key files already unlocked through this store, by the file's content and the passphrase.
   * The CLI checks a passphrase by unlocking the key (so a wrong one is named at once), then
   * signs with it: without this, `trust sign` ran the deliberately slow scrypt twice (≈ 90 ms
   * each). A store lives for one command; a changed file or another passphrase unlocks afresh,
   * and a failed unlock is not remembered.
   */
  readonly #unlocked = new Map<string, Promise<LocalSigner>>();

  constructor(dir: string, opts: KeyStoreOptions = {}) {
    assertArg(typeof dir === 'string' && dir.length > 0, 'dir', 'non-empty string', dir);
    this.dir = dir;
    this.#opts = opts;
    this.external = opts.external ?? {};
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
    return (await this.#all()).map(({ name, file }) => ({ name, keyid: file.keyid, created: file.created, ...(file instanceof KeyReference ? { uri: file.uri } : {}) }));
  }

  /**
   * Records an external key (a `pkcs11:` URI or `plugin:NAME:KEYREF`) in the store under
   * `name` (default: derived from the reference), reading its public key from the token or
   * plugin. A reference already stored for the same key is returned as it is.
   * @throws KEY_REFERENCE_INVALID, KEY_NAME_INVALID, KEY_EXISTS, KEYFILE_IO, PKCS11_*, PLUGIN_*
   */
  async addReference(uri: string, name?: string): Promise<NewKey & { readonly existing: boolean }> {
    if (!isExternalKeyRef(uri)) throw new OcitrustError('KEY_REFERENCE_INVALID', `${JSON.stringify(uri.slice(0, 100))}: expected pkcs11:… or plugin:NAME:KEYREF`);
    const publicKey = await externalPublicKey(uri, this.external);
    return this.#storeReference(uri, publicKey, name);
  }

  /**
   * Generates a key pair inside the PKCS#11 token `uri` names and records it as `name`.
   * @throws PKCS11_*, KEY_NAME_INVALID, KEY_EXISTS, KEYFILE_IO
   */
  async generateExternal(uri: string, name: string | undefined, opts: { readonly type?: SigningAlgorithm } = {}): Promise<NewKey> {
    if (name !== undefined) {
      checkName(name);
      if (await this.#read(name)) throw new OcitrustError('KEY_EXISTS', `a key named ${JSON.stringify(name)} already exists in ${this.dir}`);
    }
    const publicKey = await generateExternalKey(uri, opts.type ?? 'ed25519', this.external);
    return this.#storeReference(uri, publicKey, name);
  }

  async #storeReference(uri: string, publicKey: PublicKey, name: string | undefined): Promise<NewKey & { readonly existing: boolean }> {
    const all = await this.#all();
    const same = all.find((k) => k.file.publicKey.fingerprint === publicKey.fingerprint);
    if (same && same.file instanceof KeyReference && (name === undefined || name === same.name)) {
      return { name: same.name, keyid: same.file.keyid, publicKey: same.file.publicKey, publicPem: publicKeyToPem(same.file.publicKey), existing: true };
    }
    if (same) throw new OcitrustError('KEY_EXISTS', `this key is already in the store as ${JSON.stringify(same.name)} (keyid ${same.file.keyid})`);
    let chosen = name ?? referenceName(uri);
    checkName(chosen);
    if (name === undefined && all.some((k) => k.name === chosen)) chosen = `${chosen.slice(0, 50)}-${publicKey.keyid.slice(0, 8)}`;
    if (all.some((k) => k.name === chosen)) throw new OcitrustError('KEY_EXISTS', `a key named ${JSON.stringify(chosen)} already exists in ${this.dir}`);
    await this.#ensureDir();
    try {
      await writeKeyReference(join(this.dir, chosen + REF_SUFFIX), KeyReference.create(uri, publicKey, this.#opts.clock));
    } catch (e) {
      throw e instanceof OcitrustError && e.code === 'KEY_EXISTS' ? new OcitrustError('KEY_EXISTS', `a key named ${JSON.stringify(chosen)} already exists in ${this.dir}`) : e;
    }
    return { name: chosen, keyid: publicKey.keyid, publicKey, publicPem: publicKeyToPem(publicKey), existing: false };
  }

  /**
   * A signer for a stored key of either kind: a key file decrypted with `passphrase`, or an
   * external key opened through its reference (no passphrase: a PIN provider or the plugin
   * does the authentication) and checked to still be the key recorded.
   * @throws the errors of {@link loadSigner}, KEYFILE_KEY_MISMATCH, PKCS11_*, PLUGIN_*
   */
  async openSigner(ref: string, passphrase: () => Promise<string>): Promise<Signer> {
    const { name, file } = await this.#resolve(ref);
    if (!(file instanceof KeyReference)) return this.#unlock(file, await passphrase());
    const signer = await openExternalSigner(file.uri, this.external);
    if (signer.publicKey.fingerprint !== file.publicKey.fingerprint) {
      throw new OcitrustError('KEYFILE_KEY_MISMATCH', `key ${name}: ${file.uri.slice(0, 200)} now holds another key (keyid ${signer.keyid.slice(0, 16)}…) than the one recorded (${file.keyid.slice(0, 16)}…)`);
    }
    return signer;
  }

  /** True when `ref` names a key held outside the store (a reference). @throws KEY_NOT_FOUND, KEY_AMBIGUOUS, KEYFILE_IO */
  async isReference(ref: string): Promise<boolean> {
    return (await this.#resolve(ref)).file instanceof KeyReference;
  }

  /**
   * Decrypts a key and returns a signer for it.
   * @throws OcitrustError KEY_NOT_FOUND, KEY_AMBIGUOUS, KEY_PASSPHRASE_WRONG, KEYFILE_CORRUPT,
   *   KEYFILE_KEY_MISMATCH, KEYFILE_IO
   */
  async loadSigner(ref: string, passphrase: string): Promise<LocalSigner> {
    const { name, file } = await this.#resolve(ref);
    if (file instanceof KeyReference) throw referenceOnly(name, file);
    return this.#unlock(file, passphrase);
  }

  #unlock(file: KeyFile, passphrase: string): Promise<LocalSigner> {
    const id = `${sha256Hex(canonicalBytes(file.toJSON()))} ${sha256Hex(passphrase)}`;
    let p = this.#unlocked.get(id);
    if (!p) {
      p = file.signer(passphrase);
      this.#unlocked.set(id, p);
      p.catch(() => this.#unlocked.delete(id));
    }
    return p;
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
    const { name, file } = await this.#resolve(ref);
    if (file instanceof KeyReference) throw referenceOnly(name, file);
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
    const ext = file instanceof KeyReference;
    return { name, keyid: file.keyid, created: file.created, path: ext ? join(this.dir, name + REF_SUFFIX) : this.#path(name), ...(ext ? { uri: file.uri } : {}) };
  }

  async #resolve(ref: string): Promise<Stored> {
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

  /** The key file or reference of `name`, or null when there is none. */
  async #read(name: string): Promise<KeyFile | KeyReference | null> {
    const readers: [string, (p: string) => Promise<KeyFile | KeyReference>][] = [
      [this.#path(name), readKeyFile],
      [join(this.dir, name + REF_SUFFIX), readKeyReference],
    ];
    for (const [path, read] of readers) {
      try {
        await stat(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new OcitrustError('KEYFILE_IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
      }
      return withPath(path, () => read(path));
    }
    return null;
  }

  async #all(): Promise<Stored[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new OcitrustError('KEYFILE_IO', `cannot list key store ${this.dir}: ${(e as Error).message}`, { cause: e });
    }
    const names = entries
      .filter((f) => f.endsWith(SUFFIX) || f.endsWith(REF_SUFFIX))
      .map((f) => (f.endsWith(SUFFIX) ? [f.slice(0, -SUFFIX.length), f] : [f.slice(0, -REF_SUFFIX.length), f]) as [string, string])
      .filter(([n]) => KEY_NAME_PATTERN.test(n))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const out: Stored[] = [];
    for (const [name, f] of names) {
      const path = join(this.dir, f);
      out.push({ name, file: await withPath<KeyFile | KeyReference>(path, () => (f.endsWith(SUFFIX) ? readKeyFile(path) : readKeyReference(path))) });
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

function referenceOnly(name: string, ref: KeyReference): OcitrustError {
  return new OcitrustError('KEY_REFERENCE_INVALID', `key ${name} is held outside the key store (${ref.uri.slice(0, 200)}); its private key cannot be decrypted or exported, only used to sign`);
}

/** A key name for a reference: the PKCS#11 object label, or the plugin's name and key, made a valid name. */
function referenceName(uri: string): string {
  let base: string;
  if (uri.startsWith('plugin:')) base = uri.slice('plugin:'.length).replace(/:/, '-');
  else {
    const m = /[:;]object=([^;?]*)/.exec(uri);
    base = `hsm-${m ? decodeURIComponentSafe(m[1]!) : 'key'}`;
  }
  const clean = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 48);
  return clean || 'external-key';
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !KEY_NAME_PATTERN.test(name)) {
    throw new OcitrustError('KEY_NAME_INVALID', `invalid key name ${JSON.stringify(String(name).slice(0, 80))}: use [a-z0-9][a-z0-9._-]{0,63}`);
  }
}
