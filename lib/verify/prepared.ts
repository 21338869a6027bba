/**
 * Prepared envelopes (issue 13): what the verifier learns from an envelope's bytes alone — its
 * digest, its parsed DSSE form, the delegated keys whose signatures verify over it, and its
 * statement — kept per trusted key set, so that an envelope is hashed, parsed and verified
 * once per image, however often the pipeline runs the checks (a digest reference tried under
 * each claimed descriptor, then with its manifest, then with the signatures a fallback index
 * lost), and once per gate while the trust data stays the same.
 *
 * Entries are keyed by the digest computed from the bytes (never by a digest someone claimed),
 * so a hit is the same content; what they hold depends only on the content and on the keys the
 * memo was made for. The order of the checks does not change: the verifier still asks for the
 * statement only after a signature verified (DSSE "verify before parsing").
 */
import { toOcitrustError, type OcitrustError } from '../errors/index.js';
import { digestOf } from '../crypto/hash.js';
import { parseEnvelope, verifyEnvelope, type Envelope, type EnvelopeLimits } from '../statements/dsse.js';
import { parseStatement, type Statement } from '../statements/statement.js';
import type { PublicKey } from '../keys/key.js';

/** Counters: how often each step actually ran (tests, benchmarks). */
export interface PreparedStats {
  hashed: number;
  parsed: number;
  authenticated: number;
}

interface Entry {
  env?: Envelope;
  envError?: OcitrustError;
  keys?: PublicKey[];
  statement?: Statement;
  statementError?: OcitrustError;
}

const DEFAULT_MAX_ENTRIES = 4096;

/** The memo for one trusted key set; see the module comment. */
export class PreparedEnvelopes {
  /** The keys signatures are verified against (a verifier uses the memo only for these). */
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly stats: PreparedStats = { hashed: 0, parsed: 0, authenticated: 0 };
  readonly #digests = new WeakMap<Uint8Array, string>();
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(keys: ReadonlyMap<string, PublicKey>, maxEntries = DEFAULT_MAX_ENTRIES) {
    this.keys = keys;
    this.#max = maxEntries;
  }

  /** The sha256 digest of the bytes (computed once per bytes object). */
  digest(bytes: Uint8Array): string {
    let d = this.#digests.get(bytes);
    if (d === undefined) {
      this.stats.hashed++;
      d = digestOf(bytes, 'sha256');
      this.#digests.set(bytes, d);
    }
    return d;
  }

  #entry(bytes: Uint8Array): Entry {
    const d = this.digest(bytes);
    let e = this.#entries.get(d);
    if (e === undefined) {
      if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
      e = {};
      this.#entries.set(d, e);
    }
    return e;
  }

  /** The parsed envelope. @throws what parseEnvelope throws, the same error every time */
  envelope(bytes: Uint8Array, limits?: Partial<EnvelopeLimits>): Envelope {
    const e = this.#entry(bytes);
    if (e.envError) throw e.envError;
    if (e.env === undefined) {
      this.stats.parsed++;
      try {
        e.env = parseEnvelope(bytes, limits);
      } catch (err) {
        e.envError = toOcitrustError(err);
        throw e.envError;
      }
    }
    return e.env;
  }

  /** The keys of this memo whose signatures over the envelope verify. */
  authenticated(bytes: Uint8Array, env: Envelope): PublicKey[] {
    const e = this.#entry(bytes);
    if (e.keys === undefined) {
      this.stats.authenticated++;
      e.keys = verifyEnvelope(env, this.keys);
    }
    return e.keys;
  }

  /** The statement of the (already authenticated) payload. @throws what parseStatement throws */
  statement(bytes: Uint8Array, env: Envelope): Statement {
    const e = this.#entry(bytes);
    if (e.statementError) throw e.statementError;
    if (e.statement === undefined) {
      try {
        e.statement = parseStatement(env.payload, { maxBytes: env.payload.length });
      } catch (err) {
        e.statementError = toOcitrustError(err);
        throw e.statementError;
      }
    }
    return e.statement;
  }
}
