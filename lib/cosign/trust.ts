/**
 * The trust material of a cosign rule, read from the policy's files: a Sigstore trusted root
 * (`trusted_root.json`: Fulcio CAs, Rekor logs, CT logs, timestamp authorities), or the same
 * pieces as PEM files (`caCerts`, `rekorKeys`, `ctKeys`) for private deployments and for
 * cosign's classic annotations, and the rule's public keys. Everything is turned into the
 * `TrustMaterial` of @sigstore/verify, which does the checking.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from '@sigstore/core';
import { TrustedRoot, PublicKeyDetails } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { OcitrustError } from '../errors/index.js';
import { parseJson, isPlainObject } from '../json.js';

/** Largest policy-referenced Sigstore file read (a public-good trusted root is ~10 KiB). */
export const MAX_TRUST_FILE_BYTES = 1024 * 1024;
/** Most certificates in one PEM file or chain (a chain deeper than this is refused, not walked). */
export const MAX_CHAIN_CERTIFICATES = 10;

/** A public key a rule trusts, with the id it is reported under. */
export interface TrustedKey {
  /** SHA-256 hex of the key's DER SubjectPublicKeyInfo (cosign's and Rekor's key id). */
  readonly keyid: string;
  readonly key: KeyObject;
  /** The file it came from (messages). */
  readonly path: string;
}

/** What a rule's files give the verifier. */
export interface CosignTrust {
  /** The trust material for @sigstore/verify (empty lists when the rule names none). */
  readonly material: TrustMaterial;
  /** The rule's public keys (key-based signatures). */
  readonly keys: readonly TrustedKey[];
  /** True when the material has at least one transparency log (entries can be checked). */
  readonly hasTlogs: boolean;
  /** True when it has at least one CT log (SCTs can be checked). */
  readonly hasCtlogs: boolean;
}

function bad(path: string, expected: string, got: string, cause?: unknown): OcitrustError {
  return new OcitrustError('COSIGN_TRUST_FILE_INVALID', `${path}: expected ${expected}, got ${got}`, cause === undefined ? undefined : { cause });
}

/** Reads a policy-referenced file, bounded. */
export function readTrustFile(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw bad(path, 'a readable file', (e as NodeJS.ErrnoException).code ?? 'an unreadable path', e);
  }
  if (size > MAX_TRUST_FILE_BYTES) throw bad(path, `at most ${MAX_TRUST_FILE_BYTES} bytes`, `${size}`);
  return readFileSync(path);
}

/** The PEM blocks of `label` in a text, bounded in count. */
export function pemBlocks(text: string, label: string, path: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`, 'g');
  const out: Buffer[] = [];
  for (const m of text.matchAll(re)) {
    if (out.length >= MAX_CHAIN_CERTIFICATES) throw bad(path, `at most ${MAX_CHAIN_CERTIFICATES} ${label} blocks`, 'more');
    out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

/** Key types a cosign signature may use; anything else is an unknown signing scheme. */
export function checkKeyType(key: KeyObject, what: string): void {
  const t = key.asymmetricKeyType;
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'secp384r1' || curve === 'secp521r1') return;
    throw new OcitrustError('COSIGN_TRUST_FILE_INVALID', `${what}: expected an ECDSA key on P-256, P-384 or P-521, got curve ${String(curve)}`);
  }
  if (t === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits >= 2048 && bits <= 8192) return;
    throw new OcitrustError('COSIGN_TRUST_FILE_INVALID', `${what}: expected an RSA key of 2048 to 8192 bits, got ${bits}`);
  }
  if (t === 'ed25519') return;
  throw new OcitrustError('COSIGN_TRUST_FILE_INVALID', `${what}: expected an ECDSA, RSA or Ed25519 key, got ${String(t)}`);
}

/** Key id as cosign and Rekor compute it: SHA-256 of the DER SubjectPublicKeyInfo. */
export function keyId(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** A PEM public key file (cosign.pub): exactly one `PUBLIC KEY` block. */
export function loadPublicKey(path: string): TrustedKey {
  const text = readTrustFile(path).toString('utf8');
  const blocks = pemBlocks(text, 'PUBLIC KEY', path);
  if (blocks.length !== 1) throw bad(path, 'one PEM "PUBLIC KEY" block', `${blocks.length}`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: blocks[0]!, format: 'der', type: 'spki' });
  } catch (e) {
    throw bad(path, 'a DER SubjectPublicKeyInfo in the PEM block', 'bytes that do not parse as a public key', e);
  }
  checkKeyType(key, path);
  return { keyid: keyId(key), key, path };
}

/** The certificates of a PEM file (Fulcio CA, private PKI root or intermediates). */
export function loadCertificates(path: string): X509Certificate[] {
  const blocks = pemBlocks(readTrustFile(path).toString('utf8'), 'CERTIFICATE', path);
  if (blocks.length === 0) throw bad(path, 'at least one PEM "CERTIFICATE" block', 'none');
  return blocks.map((der, i) => {
    try {
      return X509Certificate.parse(der as Buffer<ArrayBuffer>);
    } catch (e) {
      throw bad(path, `certificate ${i} to be valid DER X.509`, 'bytes that do not parse', e);
    }
  });
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Parses a trusted_root.json. Every key and CA must state `validFor.start`: a missing start
 * is a malformed root, not an unbounded validity (conformance
 * `trust-root-tlog-missing-validity-start_fail`).
 */
export function parseTrustedRoot(bytes: Uint8Array, path: string): TrustedRoot {
  let json: unknown;
  try {
    json = parseJson(bytes, { maxBytes: MAX_TRUST_FILE_BYTES, what: path });
  } catch (e) {
    throw bad(path, 'a Sigstore trusted root (JSON)', (e as Error).message, e);
  }
  if (!isPlainObject(json)) throw bad(path, 'a JSON object', typeof json);
  const mt = json['mediaType'];
  if (typeof mt !== 'string' || !/^application\/vnd\.dev\.sigstore\.trustedroot(\.v0\.1)?\+json(;version=0\.1)?$/.test(mt)) {
    throw bad(path, 'mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1 (or .v0.1+json)', JSON.stringify(mt));
  }
  for (const list of ['tlogs', 'ctlogs'] as const) {
    const entries = json[list] ?? [];
    if (!Array.isArray(entries)) throw bad(path, `${list} to be an array`, typeof entries);
    entries.forEach((t: unknown, i) => {
      const start = isPlainObject(t) && isPlainObject(t['publicKey']) && isPlainObject(t['publicKey']['validFor']) ? t['publicKey']['validFor']['start'] : undefined;
      if (typeof start !== 'string' || !DATE_RE.test(start)) throw bad(path, `${list}[${i}].publicKey.validFor.start (an RFC 3339 UTC time)`, JSON.stringify(start ?? null));
    });
  }
  for (const list of ['certificateAuthorities', 'timestampAuthorities'] as const) {
    const entries = json[list] ?? [];
    if (!Array.isArray(entries)) throw bad(path, `${list} to be an array`, typeof entries);
    entries.forEach((t: unknown, i) => {
      const start = isPlainObject(t) && isPlainObject(t['validFor']) ? t['validFor']['start'] : undefined;
      if (typeof start !== 'string' || !DATE_RE.test(start)) throw bad(path, `${list}[${i}].validFor.start (an RFC 3339 UTC time)`, JSON.stringify(start ?? null));
    });
  }
  try {
    const root = TrustedRoot.fromJSON(json);
    // Parse every key and certificate now, so a broken root is a policy error, not a per-signature one.
    toTrustMaterial(root);
    return root;
  } catch (e) {
    throw bad(path, 'a Sigstore trusted root whose keys and certificates parse', (e as Error).message, e);
  }
}

/** The pieces of a rule's trust (paths already absolute). */
export interface TrustFiles {
  readonly trustedRoot?: string;
  readonly keys?: readonly string[];
  readonly caCerts?: readonly string[];
  readonly rekorKeys?: readonly string[];
  readonly ctKeys?: readonly string[];
}

const EPOCH = new Date(0);

function tlogFromKey(k: TrustedKey) {
  const der = k.key.export({ type: 'spki', format: 'der' });
  const details = k.key.asymmetricKeyType === 'ed25519'
    ? PublicKeyDetails.PKIX_ED25519
    // @sigstore/verify reads the key details only to pick the DER type, and takes every
    // PKCS#1 v1.5 detail as a bare PKCS#1 key: an RSA SPKI must be named by a PKIX_RSA_PSS one.
    : k.key.asymmetricKeyType === 'rsa' ? PublicKeyDetails.PKIX_RSA_PSS_2048_SHA256 : PublicKeyDetails.PKIX_ECDSA_P256_SHA_256;
  return {
    baseUrl: '',
    hashAlgorithm: 1,
    publicKey: { rawBytes: der, keyDetails: details, validFor: { start: EPOCH } },
    logId: { keyId: createHash('sha256').update(der).digest() },
  };
}

/**
 * Builds a rule's trust from its files. `trustedRoot` and the PEM pieces add up (a private
 * Rekor beside the public-good root is allowed).
 */
export function loadTrust(files: TrustFiles): CosignTrust {
  const root: TrustedRoot = files.trustedRoot !== undefined
    ? parseTrustedRoot(readTrustFile(files.trustedRoot), files.trustedRoot)
    : { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
  const tlogs = [...root.tlogs, ...(files.rekorKeys ?? []).map((p) => tlogFromKey(loadPublicKey(p)))];
  const ctlogs = [...root.ctlogs, ...(files.ctKeys ?? []).map((p) => tlogFromKey(loadPublicKey(p)))];
  const cas = [...root.certificateAuthorities];
  // Every caCerts certificate goes into one CA pool: the path builder finds the order.
  const pool = (files.caCerts ?? []).flatMap(loadCertificates);
  if (pool.length > MAX_CHAIN_CERTIFICATES) throw new OcitrustError('COSIGN_TRUST_FILE_INVALID', `caCerts: expected at most ${MAX_CHAIN_CERTIFICATES} certificates, got ${pool.length}`);
  if (pool.length > 0) {
    const certs = pool;
    cas.push({
      subject: { organization: '', commonName: '' },
      uri: '',
      certChain: { certificates: certs.map((c) => ({ rawBytes: c.root.toDER() })) },
      validFor: { start: EPOCH },
    } as (typeof cas)[number]);
  }
  const merged = { ...root, tlogs, ctlogs, certificateAuthorities: cas } as TrustedRoot;
  const keys = (files.keys ?? []).map(loadPublicKey);
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(merged);
  } catch (e) {
    throw new OcitrustError('COSIGN_TRUST_FILE_INVALID', `cosign trust material: expected keys and certificates that parse, got ${(e as Error).message}`, { cause: e });
  }
  return { material, keys, hasTlogs: tlogs.length > 0, hasCtlogs: ctlogs.length > 0 };
}

/**
 * A rule's trust extended with the intermediates a classic cosign signature carries in its
 * chain annotation, keeping only those that chain (by signature, iteratively, without
 * recursion, so a looping chain ends) to a certificate of a trusted CA. The path checks
 * (CA flags, path length, validity at the signing time) are then @sigstore/verify's as usual.
 * An intermediate that does not chain up is dropped, so the annotation never adds trust.
 */
export function withIntermediates(trust: CosignTrust, chain: readonly X509Certificate[]): CosignTrust {
  if (chain.length === 0) return trust;
  const cas = trust.material.certificateAuthorities.map((ca) => {
    const accepted: X509Certificate[] = [...ca.certChain];
    const added: X509Certificate[] = [];
    for (let round = 0; round < chain.length; round++) {
      const before = added.length;
      for (const c of chain) {
        if (accepted.some((a) => a.equals(c))) continue;
        const issuer = accepted.find((a) => a.subject.equals(c.issuer) && safeVerify(c, a));
        if (issuer && c.isCA) {
          accepted.push(c);
          added.push(c);
        }
      }
      if (added.length === before) break;
    }
    return added.length === 0 ? ca : { ...ca, certChain: [...added, ...ca.certChain] };
  });
  return { ...trust, material: { ...trust.material, certificateAuthorities: cas } };
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer);
  } catch {
    return false;
  }
}
