import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { OcitrustError } from '../lib/errors/index.js';
import { passphraseFromEnv } from '../lib/keys/passphrase.js';
import type { KeyStore } from '../lib/keys/keystore.js';
// The registry client, the trust server client and the trust opening are imported where they
// are first used: commands that need none of them (key, init, …) start without loading them.
import type { HttpRegistryClient, RegistryClient } from '../lib/oci/client.js';
import type { CredentialProvider } from '../lib/oci/credentials.js';
import { normalizeRepository } from '../lib/reference.js';
import type { TrustServerClient } from '../lib/trust-client.js';
import { OcitrustHome } from '../lib/usecases/home.js';
import type { AdminContext } from '../lib/usecases/admin.js';
import type { PassphraseProvider, PassphraseRequest } from '../lib/usecases/keys.js';
import type { CollectionTrust } from '../lib/usecases/trust.js';
import type { CliIO } from './io.js';
import { Output, type OutputFormat } from './output.js';
import { canPrompt, promptHidden } from './prompt.js';
import { offlineAllowlistActive } from './offline-state.js';
import type { ExternalKeyOptions } from '../lib/keys/external.js';
import type { PinProvider } from '../lib/keys/pkcs11/keys.js';

/** The trust server `trust` talks to when neither --server nor OCITRUST_SERVER is given. */
export const DEFAULT_SERVER = 'http://127.0.0.1:7443';

/** Options every command accepts (set on the root program). */
export interface GlobalOptions {
  readonly server?: string;
  readonly home?: string;
  readonly plainHttp?: boolean;
  readonly output?: string;
  readonly quiet?: boolean;
  readonly passphraseFile?: string;
  readonly tokenFile?: string;
  readonly pinFile?: string;
}

/** How a command opens a collection's trust data (see lib/usecases/trust.ts `openCollection`). */
export interface TrustOpenOptions {
  readonly root?: Uint8Array;
  readonly server?: string;
  /** Fresh data required (writes). */
  readonly online?: boolean;
  /** `--offline`: do not contact the server; use the persisted trust data. */
  readonly offline?: boolean;
  /** A policy's `trustMaxAgeSeconds`: how old persisted data may be when the server cannot be reached. */
  readonly maxCacheAgeSeconds?: number;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Largest passphrase or token file read. */
const MAX_SECRET_FILE = 64 * 1024;

/**
 * Everything a command needs, built lazily from the global options and the environment:
 * the home folder, key store, registry client, trust server client, passphrases and output.
 */
export class CliContext {
  readonly io: CliIO;
  readonly globals: GlobalOptions;
  readonly out: Output;
  #home?: OcitrustHome;
  #keys?: KeyStore;
  #registry?: Promise<HttpRegistryClient>;
  #token?: Promise<string | undefined>;
  #passFile?: Promise<string>;
  readonly #passCache = new Map<string, string>();
  readonly #trustCache = new Map<string, Promise<CollectionTrust>>();

  constructor(io: CliIO, globals: GlobalOptions) {
    this.io = io;
    this.globals = globals;
    const format = globals.output ?? 'text';
    if (format !== 'text' && format !== 'json') {
      throw new OcitrustError('CLI_USAGE', `-o/--output: expected text or json, got ${JSON.stringify(String(format).slice(0, 20))}`);
    }
    this.out = new Output(io, format as OutputFormat, globals.quiet === true);
    // A malformed --server is the command line's error, before any image is looked at.
    if (globals.server !== undefined) void this.serverUrl;
  }

  /** A path from the command line, relative to the working folder. */
  path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.io.cwd, p);
  }

  /** `--home`, else OCITRUST_HOME, else `~/.ocitrust`. */
  get home(): OcitrustHome {
    this.#home ??= new OcitrustHome(this.globals.home ? this.path(this.globals.home) : this.io.env.OCITRUST_HOME ? this.path(this.io.env.OCITRUST_HOME) : OcitrustHome.defaultDir());
    return this.#home;
  }

  get keys(): KeyStore {
    this.#keys ??= this.home.keyStore({ external: this.externalKeys });
    return this.#keys;
  }

  /** How keys in PKCS#11 tokens and behind signer plugins are reached: the PIN, the environment (PATH, OCITRUST_PKCS11_MODULE). */
  get externalKeys(): ExternalKeyOptions {
    return { pin: this.pin, env: this.io.env };
  }

  #pin?: Promise<string>;

  /**
   * The PKCS#11 user PIN, as passphrases are read (never argv): --pin-file, else
   * OCITRUST_PKCS11_PIN, else the URI's pin-source file, else a no-echo prompt on a terminal.
   * Read once per command.
   */
  readonly pin: PinProvider = (req) => {
    this.#pin ??= (async () => {
      let value: string;
      if (this.globals.pinFile) value = (await this.readSecretFile(this.globals.pinFile, '--pin-file')).replace(/\r?\n$/, '');
      else if (this.io.env.OCITRUST_PKCS11_PIN) value = this.io.env.OCITRUST_PKCS11_PIN;
      else if (req.uri.pinSource) value = (await this.readSecretFile(req.uri.pinSource.replace(/^file:(\/\/)?/, ''), 'pin-source')).replace(/\r?\n$/, '');
      else if (canPrompt(this.io)) value = await promptHidden(this.io, `PIN for token ${req.token}: `);
      else throw new OcitrustError('PKCS11_PIN_MISSING', `token ${JSON.stringify(req.token)} needs its user PIN: pass --pin-file FILE or set OCITRUST_PKCS11_PIN (never on the command line)`);
      if (value.length === 0) throw new OcitrustError('PKCS11_PIN_MISSING', `empty PIN for token ${JSON.stringify(req.token)}`);
      return value;
    })();
    return this.#pin;
  };

  /**
   * `--server`, else OCITRUST_SERVER, else {@link DEFAULT_SERVER}. A `host:port` without a
   * scheme is accepted: http for a loopback host (as `trust server` listens by default), https
   * for any other.
   */
  get serverUrl(): string {
    const s = this.globals.server ?? this.io.env.OCITRUST_SERVER ?? DEFAULT_SERVER;
    const from = this.globals.server !== undefined ? '--server' : this.io.env.OCITRUST_SERVER !== undefined ? 'OCITRUST_SERVER' : 'the default server';
    let url = s;
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && s.length > 0) {
      try {
        const host = new URL(`http://${s}`).hostname;
        url = `${isLoopbackHost(host) ? 'http' : 'https'}://${s}`;
      } catch {
        url = s;
      }
    }
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new OcitrustError('CLI_USAGE', `${from}: expected an http(s) URL or host:port, got ${JSON.stringify(s.slice(0, 100))}`);
    }
    return url.replace(/\/+$/, '');
  }

  #defaultNoted = false;

  /** Says once that the silent default server is used (neither --server nor OCITRUST_SERVER). */
  noteDefaultServer(): void {
    if (this.#defaultNoted || this.globals.server !== undefined || this.io.env.OCITRUST_SERVER !== undefined) return;
    this.#defaultNoted = true;
    this.out.notice(`using the default trust server ${DEFAULT_SERVER} (set --server or OCITRUST_SERVER to use another)`);
  }

  /**
   * Registry client: HTTPS except loopback or --plain-http; credentials from the Docker
   * configuration, except for the trust server's own embedded registry (same host and port),
   * which gets the trust server token (it accepts it as a Basic password).
   */
  registry(): Promise<RegistryClient> {
    if (!this.#registry) {
      const p = this.#newRegistry();
      this.#registry = p;
      // As when it was built synchronously: a failure is not remembered.
      p.catch(() => {
        if (this.#registry === p) this.#registry = undefined;
      });
    }
    return this.#registry;
  }

  async #newRegistry(): Promise<HttpRegistryClient> {
    // Loaded at once, not one after another: each import is a file read the others overlap.
    const [{ HttpRegistryClient }, { dockerConfigCredentials }, { tokenForOwnHost }, { defaultFetch }] = await Promise.all([
      import('../lib/oci/client.js'),
      import('../lib/oci/credentials.js'),
      import('./server-token-fetch.js'),
      import('../lib/http/fetch.js'),
    ]);
    const docker = dockerConfigCredentials({ env: this.io.env });
    let embedded: string | undefined;
    try {
      embedded = new URL(this.serverUrl).host;
    } catch {
      embedded = undefined;
    }
    const credentials: CredentialProvider = async (registry) => {
      if (registry === embedded) {
        const token = await this.token();
        if (token) return { username: 'ocitrust', password: token };
      }
      return docker(registry);
    };
    // The verifying proxy on the trust server's host needs the token up front (server-token-fetch.ts).
    const own = embedded ? tokenForOwnHost(embedded, () => this.token()) : undefined;
    // Under `--offline`, a registry's token realm and blob redirects join the allowlist (cli/offline-guard.ts).
    const fetch = offlineAllowlistActive() ? (await import('./offline-guard.js')).offlineRegistryFetch(own ?? defaultFetch) : own;
    return new HttpRegistryClient({ plainHttp: this.globals.plainHttp === true, userAgent: 'ocitrust-cli', credentials, ...(fetch ? { fetch } : {}) });
  }

  /**
   * The bearer token: OCITRUST_TOKEN, else the contents of --token-file, else the login stored
   * for this server by `trust login` (so CI's explicit settings always win). Never from argv.
   */
  token(): Promise<string | undefined> {
    this.#token ??= (async () => {
      if (this.io.env.OCITRUST_TOKEN) return this.io.env.OCITRUST_TOKEN.trim();
      if (this.globals.tokenFile) return (await this.readSecretFile(this.globals.tokenFile, '--token-file')).trim();
      const { readLogin } = await import('./logins.js');
      return readLogin(this.home.dir, this.serverUrl);
    })();
    return this.#token;
  }

  /** Where {@link token} comes from, for messages when the server refuses it (never the token). */
  get tokenSource(): string | undefined {
    if (this.io.env.OCITRUST_TOKEN) return 'OCITRUST_TOKEN';
    if (this.globals.tokenFile) return `--token-file ${this.globals.tokenFile}`;
    return `the login stored by \`trust login ${this.serverUrl}\``;
  }

  async trustServer(): Promise<TrustServerClient> {
    this.noteDefaultServer();
    const [token, { TrustServerClient }] = await Promise.all([this.token(), import('../lib/trust-client.js')]);
    const source = this.tokenSource;
    return new TrustServerClient(this.serverUrl, token ? { token, ...(source ? { tokenSource: source } : {}) } : {});
  }

  /** What the admin use cases need. */
  async admin(): Promise<AdminContext> {
    const token = await this.token();
    const source = this.tokenSource;
    return { home: this.home, keys: this.keys, server: await this.trustServer(), passphrase: this.passphrase, ...(token ? { token, ...(source ? { tokenSource: source } : {}) } : {}) };
  }

  /** Reads a file named on the command line. @throws CLI_INPUT_UNREADABLE */
  async readInput(p: string, what: string, maxBytes = 16 * 1024 * 1024): Promise<Uint8Array> {
    const full = this.path(p);
    let b: Buffer;
    try {
      b = await readFile(full);
    } catch (e) {
      throw new OcitrustError('CLI_INPUT_UNREADABLE', `${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    if (b.length > maxBytes) throw new OcitrustError('INPUT_TOO_LARGE', `${what} ${p}: larger than ${maxBytes} bytes`);
    return new Uint8Array(b);
  }

  async readSecretFile(p: string, what: string): Promise<string> {
    return Buffer.from(await this.readInput(p, what, MAX_SECRET_FILE)).toString('utf8');
  }

  /**
   * Key passphrases (DESIGN §2), first found wins: --passphrase-file (an explicit choice on the
   * command line beats the environment), OCITRUST_<ROLE>_PASSPHRASE (then the key name's
   * variable), OCITRUST_PASSPHRASE, a no-echo prompt on a terminal. For an existing key the
   * passphrase is checked here, so a wrong one names the key and where the passphrase came
   * from, and at a terminal is asked again (3 tries, as docker trust does). Never argv, never
   * logged; remembered per key for this one command.
   */
  readonly passphrase: PassphraseProvider = async (req: PassphraseRequest): Promise<string> => {
    const cached = this.#passCache.get(req.keyName);
    if (cached !== undefined) return cached;
    const what = `${req.role && req.role !== req.keyName ? `${req.role} ` : ''}key ${req.keyName}`;
    const given = await this.#givenPassphrase(req);
    let value: string;
    if (given) {
      value = given.value;
      if (value.length === 0) throw new OcitrustError('CLI_USAGE', `empty passphrase for key ${req.keyName} from ${given.source}`);
      await this.#checkPassphrase(req, value, what, given.source);
    } else {
      value = await this.#promptPassphrase(req, what);
    }
    this.#passCache.set(req.keyName, value);
    return value;
  };

  /** A passphrase from --passphrase-file or the environment, with where it came from. */
  async #givenPassphrase(req: PassphraseRequest): Promise<{ value: string; source: string } | undefined> {
    if (this.globals.passphraseFile) {
      this.#passFile ??= this.readSecretFile(this.globals.passphraseFile, '--passphrase-file').then((s) => s.replace(/\r?\n$/, ''));
      return { value: await this.#passFile, source: `--passphrase-file ${this.globals.passphraseFile}` };
    }
    const env = { ...this.io.env, OCITRUST_PASSPHRASE: undefined };
    for (const who of [req.role, req.keyName]) {
      if (!who) continue;
      const value = passphraseFromEnv(who, env);
      if (value !== undefined) return { value, source: `OCITRUST_${who.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSPHRASE` };
    }
    if (this.io.env.OCITRUST_PASSPHRASE) return { value: this.io.env.OCITRUST_PASSPHRASE, source: 'OCITRUST_PASSPHRASE' };
    return undefined;
  }

  /** Checks the passphrase of an existing key. @throws KEY_PASSPHRASE_WRONG naming the key and the source */
  async #checkPassphrase(req: PassphraseRequest, value: string, what: string, source: string): Promise<void> {
    if (req.confirm || !req.keyid) return;
    try {
      await this.keys.loadSigner(req.keyName, value);
    } catch (e) {
      if (e instanceof OcitrustError && e.code === 'KEY_PASSPHRASE_WRONG') {
        throw new OcitrustError('KEY_PASSPHRASE_WRONG', `wrong passphrase for ${what} (keyid ${req.keyid.slice(0, 12)}…) from ${source}`, { cause: e });
      }
      throw e;
    }
  }

  /** Asks on the terminal: up to 3 tries for a wrong passphrase or a repeat that differs. */
  async #promptPassphrase(req: PassphraseRequest, what: string): Promise<string> {
    const TRIES = 3;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= TRIES;
      let value: string;
      try {
        value = await promptHidden(this.io, req.confirm ? `Passphrase for the new ${what}: ` : `Passphrase for ${what}: `);
      } catch (e) {
        if (e instanceof OcitrustError && e.code === 'PASSPHRASE_UNAVAILABLE') {
          const role = (req.role ?? req.keyName).toUpperCase().replace(/[^A-Z0-9]/g, '_');
          throw new OcitrustError('PASSPHRASE_UNAVAILABLE', `no passphrase for ${what}: pass --passphrase-file, set OCITRUST_${role}_PASSPHRASE or OCITRUST_PASSPHRASE, or run on a terminal`);
        }
        throw e;
      }
      if (value.length === 0) {
        if (last) throw new OcitrustError('CLI_USAGE', `empty passphrase for key ${req.keyName}`);
        this.io.stderr.write('The passphrase is empty; try again.\n');
        continue;
      }
      if (req.confirm) {
        const again = await promptHidden(this.io, 'Repeat the passphrase: ');
        if (again === value) return value;
        if (last) throw new OcitrustError('PASSPHRASE_MISMATCH', `the passphrases for the new ${what} differ (${TRIES} tries)`);
        this.io.stderr.write('The passphrases differ; try again.\n');
        continue;
      }
      try {
        await this.#checkPassphrase(req, value, what, 'the prompt');
        return value;
      } catch (e) {
        if (last || !(e instanceof OcitrustError && e.code === 'KEY_PASSPHRASE_WRONG')) {
          if (e instanceof OcitrustError && e.code === 'KEY_PASSPHRASE_WRONG') {
            throw new OcitrustError('KEY_PASSPHRASE_WRONG', `wrong passphrase for ${what} (keyid ${req.keyid!.slice(0, 12)}…) from the prompt, ${TRIES} tries`, { cause: e });
          }
          throw e;
        }
        this.io.stderr.write('Wrong passphrase; try again.\n');
      }
    }
  }

  /** A repository argument, normalized. @throws REFERENCE_INVALID */
  repository(arg: string): string {
    return normalizeRepository(arg);
  }

  /**
   * Opens a collection's trust data and states plainly when its root was just trusted on
   * first use.
   */
  openTrust(collection: string, opts: TrustOpenOptions = {}): Promise<CollectionTrust> {
    // One refresh per collection and trust anchor per command, however many images share it.
    const key = JSON.stringify([collection, opts.server ?? this.serverUrl, opts.root ? Buffer.from(opts.root).toString('base64') : null, !!opts.online, !!opts.offline, opts.maxCacheAgeSeconds ?? null]);
    let p = this.#trustCache.get(key);
    if (!p) {
      p = this.#openTrust(collection, opts);
      this.#trustCache.set(key, p);
      p.catch(() => this.#trustCache.delete(key));
    }
    return p;
  }

  async #openTrust(collection: string, opts: TrustOpenOptions): Promise<CollectionTrust> {
    if (opts.server === undefined) this.noteDefaultServer();
    const [token, { openCollection }] = await Promise.all([this.token(), import('../lib/usecases/trust.js')]);
    const source = this.tokenSource;
    const t = await openCollection({
      home: this.home,
      collection,
      server: opts.server ?? this.serverUrl,
      ...(opts.root ? { root: opts.root } : {}),
      ...(opts.online ? { online: true } : {}),
      ...(opts.offline ? { offline: true } : {}),
      ...(opts.maxCacheAgeSeconds !== undefined ? { maxCacheAgeSeconds: opts.maxCacheAgeSeconds } : {}),
      ...(token ? { token, ...(source ? { tokenSource: source } : {}) } : {}),
    });
    this.reportTrust(t);
    return t;
  }

  /** Says what a trust opening did that the user must know: TOFU, a new explicit pin, stale cache. */
  reportTrust(t: CollectionTrust): void {
    if (t.firstUse) {
      this.out.warn(
        `first contact with ${t.collection}: trusting its root (version 1, fingerprint sha256:${t.pinFingerprint.slice(0, 16)}…) ` +
          `from ${t.pin.server ?? 'the server'} on first use (TOFU). Compare the fingerprint out of band, or pin a root explicitly with --root FILE.`,
      );
    }
    if (t.refresh.fromCache) {
      // Only with --offline or a policy's trustMaxAgeSeconds (lib/usecases/trust.ts): never silently.
      const why = t.refresh.sourceError ? `trust server unreachable (${t.refresh.sourceError.message})` : 'offline (--offline)';
      this.out.warn(`${why}; using cached trust data of ${t.collection} from ${t.refresh.refreshedAt.toISOString()}`);
    }
  }
}
