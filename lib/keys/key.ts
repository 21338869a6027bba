import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import { tufCanonicalBytes } from '../crypto/canonical.js';
import { sha256Hex, fromHex, toHex } from '../crypto/hash.js';
import { isValidPublicKey, verifyEd25519 } from '../crypto/ed25519.js';
import { decodeBase64 } from '../crypto/base64.js';
import { isJsonObject } from '../json.js';
import { keyFingerprint, type KeyAlgorithm } from '../crypto/key-fingerprint.js';
import { p256FromKeyObject, p256FromPoint, p256FromSpki, verifyEcdsaP256, type EcdsaSignatureEncoding, type P256PublicKey } from '../crypto/ecdsa-p256.js';
import { rsaFromKeyObject, verifyRsaPss, type RsaPublicKey } from '../crypto/rsa-pss.js';

/** The TUF key object of a public key, as it appears in metadata. */
export interface TufKeyJSON {
  keytype: string;
  scheme?: string;
  keyval: { public: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** TUF scheme name of ECDSA P-256 with SHA-256. */
export const ECDSA_P256_SCHEME = 'ecdsa-sha2-nistp256';
/** Longest `keyval.public` read: a base64 PEM certificate of a 4096-bit RSA key fits easily. */
const MAX_PUBLIC_CHARS = 8192;
const SPKI_PEM_RE = /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=\n]+)\n-----END PUBLIC KEY-----\n?$/;

/*
 * Accepted key objects (docs/keys.md has the table):
 *  - ed25519/ed25519, keyval.public 64 lowercase hex (TUF; what ocitrust writes)
 *  - ed25519 without scheme, keyval.public base64 of the 32 bytes (Notary)
 *  - ecdsa or ecdsa-sha2-nistp256 / scheme ecdsa-sha2-nistp256, keyval.public an SPKI PEM or
 *    the hex of the point (TUF, python-tuf, tuf-js; ocitrust writes hex): signatures are DER
 *  - ecdsa without scheme, keyval.public base64 of the DER SPKI (Notary): signatures r||s
 *  - ecdsa-x509 without scheme, keyval.public base64 of a PEM certificate (Notary): r||s
 *  - rsa / rsa-x509 without scheme (Notary): RSASSA-PSS SHA-256, salt 32
 * Everything else is KEY_UNSUPPORTED.
 */

type Verify = (signature: Uint8Array, message: Uint8Array) => boolean;

/**
 * A public key in TUF form. The keyid is the SHA-256 of the canonical form of the key object
 * exactly as given (unknown fields such as legacy `keyid_hash_algorithms`, or Notary's
 * `"private":null`, included), so keyids computed here match the ones other TUF
 * implementations compute for the same object. The price is that one key has many keyids:
 * compare keys by {@link PublicKey.fingerprint}.
 */
export class PublicKey {
  readonly keyid: string;
  /** Which kind of key material this is (independent of the key object's spelling). */
  readonly algorithm: KeyAlgorithm;
  /**
   * The public key bytes: Ed25519 the 32 raw bytes; ECDSA P-256 the 65-byte uncompressed
   * point; RSA the DER SubjectPublicKeyInfo.
   */
  readonly publicKey: Uint8Array;
  /** For `ecdsa-x509` / `rsa-x509` keys: the certificate the key came from (validity is the caller's to check). */
  readonly certificate: X509Certificate | undefined;
  private readonly json: TufKeyJSON;
  readonly #verify: Verify;
  #fingerprint: string | undefined;

  private constructor(json: TufKeyJSON, algorithm: KeyAlgorithm, raw: Uint8Array, verify: Verify, certificate?: X509Certificate) {
    this.json = json;
    this.algorithm = algorithm;
    this.publicKey = raw;
    this.#verify = verify;
    this.certificate = certificate;
    // OLPC canonical JSON, as every TUF implementation computes keyids: a PEM public value
    // holds newlines, which JCS would escape and OLPC writes raw.
    this.keyid = sha256Hex(tufCanonicalBytes(json));
  }

  /** Ed25519 key from 32 raw bytes. @throws KEY_INVALID */
  static fromRaw(raw: Uint8Array): PublicKey {
    if (!isValidPublicKey(raw)) {
      throw new OcitrustError('KEY_INVALID', 'not a valid Ed25519 public key (wrong length, non-canonical or small-order point)');
    }
    return PublicKey.#ed25519({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(raw) } }, new Uint8Array(raw));
  }

  /**
   * ECDSA P-256 key in the TUF form ocitrust writes: keytype `ecdsa`, scheme
   * `ecdsa-sha2-nistp256`, keyval.public the lowercase hex of the uncompressed point;
   * signatures DER. Hex rather than PEM because ocitrust's metadata is JCS, which equals TUF's
   * OLPC canonical JSON only for strings without control characters, and a PEM holds newlines
   * (tuf-js and go-tuf read hex points; docs/keys.md).
   * @throws KEY_INVALID, KEY_UNSUPPORTED
   */
  static fromEcdsaP256(key: Uint8Array | KeyObject): PublicKey {
    const p = key instanceof Uint8Array ? p256FromPoint(key) : p256FromKeyObject(key);
    return PublicKey.#ecdsa({ keytype: 'ecdsa', scheme: ECDSA_P256_SCHEME, keyval: { public: toHex(p.point) } }, p, 'der');
  }

  static #ed25519(json: TufKeyJSON, raw: Uint8Array): PublicKey {
    return new PublicKey(json, 'ed25519', raw, (sig, msg) => verifyEd25519(sig, msg, raw));
  }

  static #ecdsa(json: TufKeyJSON, p: P256PublicKey, encoding: EcdsaSignatureEncoding, cert?: X509Certificate): PublicKey {
    return new PublicKey(json, 'ecdsa-p256', p.point, (sig, msg) => verifyEcdsaP256(sig, msg, p, encoding), cert);
  }

  static #rsa(json: TufKeyJSON, r: RsaPublicKey, cert?: X509Certificate): PublicKey {
    return new PublicKey(json, 'rsa', r.spki, (sig, msg) => verifyRsaPss(sig, msg, r), cert);
  }

  /**
   * Parses an untrusted key object (see the accepted forms above). Points are validated
   * (Ed25519 canonical and not of small order, P-256 on the curve), RSA keys 2048–4096 bits.
   * @throws KEY_INVALID, KEY_UNSUPPORTED
   */
  static fromJSON(v: unknown): PublicKey {
    if (!isJsonObject(v) || !isJsonObject(v.keyval)) throw new OcitrustError('KEY_INVALID', 'key object must have keytype, scheme and keyval');
    const pub = v.keyval.public;
    if (typeof pub !== 'string') throw new OcitrustError('KEY_INVALID', 'keyval.public must be a string');
    if (pub.length > MAX_PUBLIC_CHARS) throw new OcitrustError('KEY_INVALID', `keyval.public: expected at most ${MAX_PUBLIC_CHARS} characters, got ${pub.length}`);
    const json = structuredClone(v) as TufKeyJSON;
    const { keytype, scheme } = v;
    if (keytype === 'ed25519' && scheme === 'ed25519') {
      if (!/^[0-9a-f]{64}$/.test(pub)) throw new OcitrustError('KEY_INVALID', 'keyval.public must be 64 lowercase hex characters');
      const raw = fromHex(pub)!;
      if (!isValidPublicKey(raw)) throw new OcitrustError('KEY_INVALID', 'keyval.public is not a valid Ed25519 point (non-canonical or small order)');
      return PublicKey.#ed25519(json, raw);
    }
    if ((keytype === 'ecdsa' || keytype === ECDSA_P256_SCHEME) && scheme === ECDSA_P256_SCHEME) {
      return PublicKey.#ecdsa(json, tufEcdsaKey(pub), 'der');
    }
    if (scheme === undefined && typeof keytype === 'string') {
      // Notary's forms: no scheme; keyval.public is base64.
      const bytes = notaryBase64(pub);
      if (keytype === 'ed25519') {
        if (bytes.length !== 32 || !isValidPublicKey(bytes)) throw new OcitrustError('KEY_INVALID', 'Notary ed25519 key: expected base64 of a valid 32-byte Ed25519 point');
        return PublicKey.#ed25519(json, bytes);
      }
      if (keytype === 'ecdsa') return PublicKey.#ecdsa(json, p256FromSpki(bytes), 'ieee-p1363');
      if (keytype === 'rsa') return PublicKey.#rsa(json, rsaFromKeyObject(spkiKeyObject(bytes, 'RSA')));
      if (keytype === 'ecdsa-x509') {
        const cert = certificate(bytes);
        return PublicKey.#ecdsa(json, p256FromKeyObject(cert.publicKey), 'ieee-p1363', cert);
      }
      if (keytype === 'rsa-x509') {
        const cert = certificate(bytes);
        return PublicKey.#rsa(json, rsaFromKeyObject(cert.publicKey), cert);
      }
    }
    throw new OcitrustError(
      'KEY_UNSUPPORTED',
      `unsupported key type ${JSON.stringify(keytype)}/${JSON.stringify(scheme)}: expected ed25519/ed25519, ecdsa/ecdsa-sha2-nistp256, or Notary's ecdsa, ecdsa-x509, rsa, rsa-x509, ed25519 (no scheme)`,
    );
  }

  /**
   * The identity of the key material ({@link keyFingerprint}): equal for every spelling of this
   * key (and for a certificate and its bare key), unlike {@link keyid}. Thresholds count fingerprints.
   */
  get fingerprint(): string {
    this.#fingerprint ??= keyFingerprint({ algorithm: this.algorithm, publicKey: this.publicKey });
    return this.#fingerprint;
  }

  /** The key object, unknown fields kept. */
  toJSON(): TufKeyJSON {
    return structuredClone(this.json);
  }

  /**
   * Verifies `signature` over `message` with this key under its format's one scheme and
   * encoding: strict Ed25519; ECDSA P-256/SHA-256 (DER for TUF keys, r||s for Notary keys);
   * RSASSA-PSS SHA-256 salt 32. Never throws.
   */
  verify(signature: Uint8Array, message: Uint8Array): boolean {
    return this.#verify(signature, message);
  }
}

/**
 * A TUF ECDSA `keyval.public`: an SPKI PEM block (python-tuf, sigstore), or the lowercase hex of
 * the point (tuf-js's and go-tuf's legacy form; what ocitrust writes), compressed or not.
 */
function tufEcdsaKey(pub: string): P256PublicKey {
  const m = SPKI_PEM_RE.exec(pub);
  if (m) {
    const b64 = m[1]!.replace(/\n/g, '');
    const der = Buffer.from(b64, 'base64');
    if (der.toString('base64') !== b64) throw new OcitrustError('KEY_INVALID', 'ECDSA keyval.public: the PEM body is not canonical base64');
    return p256FromSpki(new Uint8Array(der));
  }
  if (/^(0[23][0-9a-f]{64}|04[0-9a-f]{128})$/.test(pub)) return p256FromPoint(fromHex(pub)!);
  throw new OcitrustError('KEY_INVALID', 'ECDSA keyval.public: expected an SPKI PEM (-----BEGIN PUBLIC KEY-----) or the lowercase hex of a P-256 point (33 or 65 bytes)');
}

function notaryBase64(pub: string): Uint8Array {
  try {
    return decodeBase64(pub, 'keyval.public');
  } catch (e) {
    throw new OcitrustError('KEY_INVALID', `Notary key: keyval.public must be standard base64 (${(e as Error).message})`, { cause: e });
  }
}

function spkiKeyObject(der: Uint8Array, what: string): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (e) {
    throw new OcitrustError('KEY_INVALID', `${what} key: expected a DER SubjectPublicKeyInfo`, { cause: e });
  }
}

/**
 * The one certificate of a Notary `*-x509` key: base64 of one PEM CERTIFICATE block. Parsed by
 * node:crypto's X509Certificate (OpenSSL's parser) rather than by hand: certificates are a
 * large grammar that is easy to get subtly wrong.
 */
function certificate(bytes: Uint8Array): X509Certificate {
  const text = Buffer.from(bytes).toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (blocks !== 1 || !/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/.test(text)) {
    throw new OcitrustError('KEY_INVALID', `x509 key: expected base64 of exactly one PEM CERTIFICATE block, got ${blocks} blocks`);
  }
  try {
    return new X509Certificate(text);
  } catch (e) {
    throw new OcitrustError('KEY_INVALID', `x509 key: the certificate does not parse (${(e as Error).message})`, { cause: e });
  }
}
