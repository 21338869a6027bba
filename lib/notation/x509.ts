/**
 * X.509 for Notation: parsing (Node's X509Certificate for signatures and names; the extensions
 * Node does not expose — key usage bits, basic constraints' path length, EKU — through
 * @sigstore/core's DER reader, and CRL distribution points through @peculiar/asn1-x509's schema,
 * only when revocation is checked: its generic parser costs ~8 ms a certificate, sigstore's
 * ~0.2 ms. @peculiar/x509 itself needs a reflect-metadata polyfill at load time.) and the code-signing chain rules of the Notary Project signature spec
 * ("Certificate requirements"): the chain is leaf first, root last, each certificate signed by
 * the next, the root self-signed; CA certificates may sign certificates, the leaf may sign code.
 * Bounded: at most ENVELOPE_LIMITS.maxChainLength certificates, none repeated (a chain that
 * loops is refused before any signature is checked).
 */
import { X509Certificate as NodeCert, createHash, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLDistributionPoints } from '@peculiar/asn1-x509';
import { ASN1Obj } from '@sigstore/core';
import { OcitrustError } from '../errors/index.js';
import { ENVELOPE_LIMITS, type SignatureAlgorithm } from './envelope.js';

/** EKU OIDs the spec names. */
export const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
export const EKU_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/** One parsed certificate. */
export interface Cert {
  readonly der: Uint8Array;
  readonly node: NodeCert;
  /** Extensions by OID: critical flag and the DER of the value. */
  readonly extensions: ReadonlyMap<string, { readonly critical: boolean; readonly value: Uint8Array }>;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject as `C=US, ST=WA, …, CN=…` (messages and identities). */
  readonly subject: string;
  /** SHA-256 of the DER, hex (Notation's thumbprint). */
  readonly thumbprint: string;
}

/** Parsed certificates by SHA-256 of their DER (the same signers and roots come back). */
const parsed = new Map<string, Cert>();
const MAX_PARSED = 1024;

const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_CRL_DP = '2.5.29.31';

/** Extensions of a DER certificate (RFC 5280 §4.1: tbsCertificate [3] EXPLICIT Extensions). */
function readExtensions(der: Uint8Array): Map<string, { critical: boolean; value: Uint8Array }> {
  const cert = ASN1Obj.parseBuffer(Buffer.from(der));
  const tbs = cert.subs[0];
  const out = new Map<string, { critical: boolean; value: Uint8Array }>();
  const field = tbs?.subs.find((s) => s.tag.isContextSpecific(3));
  for (const ext of field?.subs[0]?.subs ?? []) {
    const oid = ext.subs[0]!.toOID();
    const critical = ext.subs.length === 3 && ext.subs[1]!.toBoolean();
    const value = ext.subs[ext.subs.length - 1]!;
    if (!value.tag.isOctetString()) throw new Error(`extension ${oid}: expected an OCTET STRING value`);
    if (out.has(oid)) throw new Error(`extension ${oid} appears twice`);
    out.set(oid, { critical, value: new Uint8Array(value.value) });
  }
  return out;
}

function chainError(message: string): never {
  throw new OcitrustError('NOTATION_CERT_CHAIN_INVALID', message);
}

/**
 * Parses one DER (or PEM) certificate.
 *
 * @throws OcitrustError NOTATION_CERT_CHAIN_INVALID (`code` overridable for trust stores)
 */
export function parseCert(der: Uint8Array, what: string, code: 'NOTATION_CERT_CHAIN_INVALID' | 'NOTATION_TRUST_STORE_INVALID' = 'NOTATION_CERT_CHAIN_INVALID'): Cert {
  const key = der.length <= 64 * 1024 ? createHash('sha256').update(der).digest('hex') : undefined;
  const hit = key === undefined ? undefined : parsed.get(key);
  if (hit) {
    // Refresh its place in the LRU order.
    parsed.delete(key!);
    parsed.set(key!, hit);
    return hit;
  }
  try {
    const node = new NodeCert(der);
    const raw = new Uint8Array(node.raw);
    const extensions = readExtensions(raw);
    const cert = Object.freeze({
      der: raw,
      node,
      extensions,
      notBefore: new Date(node.validFrom),
      notAfter: new Date(node.validTo),
      subject: node.subject.split('\n').join(', '),
      thumbprint: createHash('sha256').update(raw).digest('hex'),
    });
    if (key !== undefined && Buffer.from(raw).equals(Buffer.from(der))) {
      parsed.set(key, cert);
      if (parsed.size > MAX_PARSED) parsed.delete(parsed.keys().next().value!);
    }
    return cert;
  } catch (e) {
    throw new OcitrustError(code, `${what}: expected an X.509 certificate, got bytes that do not parse (${e instanceof Error ? e.message.slice(0, 100) : 'error'})`);
  }
}

function extension(c: Cert, oid: string): ASN1Obj | undefined {
  const e = c.extensions.get(oid);
  if (!e) return undefined;
  try {
    return ASN1Obj.parseBuffer(Buffer.from(e.value));
  } catch {
    chainError(`certificate "${c.subject}" has a malformed extension ${oid}`);
  }
}

/** Key usage bits (RFC 5280 §4.2.1.3: 0 digitalSignature … 5 keyCertSign), undefined when absent. */
export function keyUsage(c: Cert): { digitalSignature: boolean; keyCertSign: boolean } | undefined {
  const e = extension(c, OID_KEY_USAGE);
  if (!e) return undefined;
  if (!e.tag.isBitString()) chainError(`certificate "${c.subject}": key usage is not a BIT STRING`);
  const bits = e.toBitString();
  return { digitalSignature: bits[0] === 1, keyCertSign: bits[5] === 1 };
}

/** EKU OIDs, undefined when the extension is absent. */
export function extendedKeyUsage(c: Cert): string[] | undefined {
  const e = extension(c, OID_EXT_KEY_USAGE);
  if (!e) return undefined;
  try {
    return e.subs.map((s) => s.toOID());
  } catch {
    chainError(`certificate "${c.subject}": malformed extended key usage`);
  }
}

function basicConstraints(c: Cert): { ca: boolean; pathLength?: number } | undefined {
  const e = extension(c, OID_BASIC_CONSTRAINTS);
  if (!e) return undefined;
  try {
    const ca = e.subs[0]?.tag.isBoolean() ? e.subs[0].toBoolean() : false;
    const last = e.subs[e.subs.length - 1];
    const pathLength = last?.tag.isInteger() ? Number(last.toInteger()) : undefined;
    return { ca, ...(pathLength !== undefined ? { pathLength } : {}) };
  } catch {
    chainError(`certificate "${c.subject}": malformed basic constraints`);
  }
}

/** Whether a certificate is a CA (basic constraints cA) allowed to sign certificates (keyCertSign, when key usage is present). */
export function isIssuingCa(c: Cert): boolean {
  if (!basicConstraints(c)?.ca) return false;
  const ku = keyUsage(c);
  return ku === undefined || ku.keyCertSign;
}

/**
 * The http(s) URLs of a certificate's CRL distribution points (RFC 5280 §4.2.1.13): [] when it
 * has none, undefined when the extension is there but unusable (malformed, or no http(s) URL) —
 * which the revocation check must treat as unknown, not as "cannot be revoked".
 */
export function crlDistributionPoints(c: Cert): string[] | undefined {
  const e = c.extensions.get(OID_CRL_DP);
  if (!e) return [];
  let dps: CRLDistributionPoints;
  try {
    dps = AsnConvert.parse(e.value, CRLDistributionPoints);
  } catch {
    return undefined;
  }
  const urls: string[] = [];
  for (const dp of dps) {
    for (const gn of dp.distributionPoint?.fullName ?? []) {
      const u = gn.uniformResourceIdentifier;
      if (u && /^https?:\/\//i.test(u)) urls.push(u);
    }
  }
  return urls.length === 0 ? undefined : urls.slice(0, 8);
}

/** Whether `issuer` signed `c` (names chain and the signature verifies). */
export function issuedBy(c: Cert, issuer: Cert): boolean {
  if (c.node.issuer !== issuer.node.subject) return false;
  try {
    return c.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

/**
 * Parses and checks a signing chain (leaf first). Validity periods are not checked here: which
 * time they are checked at is the authentic-timestamp step's business.
 *
 * @throws OcitrustError NOTATION_CERT_CHAIN_INVALID
 */
export function parseSigningChain(ders: readonly Uint8Array[]): Cert[] {
  if (ders.length === 0) chainError('expected a certificate chain, got none');
  if (ders.length > ENVELOPE_LIMITS.maxChainLength) chainError(`expected at most ${ENVELOPE_LIMITS.maxChainLength} certificates, got ${ders.length}`);
  const seen = new Set<string>();
  for (const d of ders) {
    const h = createHash('sha256').update(d).digest('hex');
    if (seen.has(h)) chainError('the certificate chain repeats a certificate (a loop)');
    seen.add(h);
  }
  const certs = ders.map((d, i) => parseCert(d, `certificate ${i} of the chain`));
  const leaf = certs[0]!;
  checkLeaf(leaf, EKU_CODE_SIGNING, 'code signing');
  for (let i = 0; i < certs.length - 1; i++) {
    const c = certs[i]!;
    const issuer = certs[i + 1]!;
    if (!issuedBy(c, issuer)) chainError(`certificate "${c.subject}" is not issued by the next certificate "${issuer.subject}" of the chain`);
    checkCa(issuer, i);
  }
  const root = certs[certs.length - 1]!;
  if (!issuedBy(root, root)) {
    chainError(certs.length === 1 ? `the single certificate "${root.subject}" must be self-signed` : `the last certificate "${root.subject}" must be a self-signed root`);
  }
  return certs;
}

/** The leaf: not a CA, may sign (key usage), for the purpose asked (EKU, when present). */
export function checkLeaf(leaf: Cert, eku: string, purpose: string): void {
  if (basicConstraints(leaf)?.ca) chainError(`the signing certificate "${leaf.subject}" is a CA certificate`);
  const ku = keyUsage(leaf);
  if (!ku?.digitalSignature) chainError(`the signing certificate "${leaf.subject}" lacks the digitalSignature key usage`);
  const ekus = extendedKeyUsage(leaf);
  if (ekus !== undefined && !ekus.includes(eku)) chainError(`the signing certificate "${leaf.subject}" is not for ${purpose} (extended key usage ${ekus.join(', ')})`);
}

/** An issuing certificate: CA, keyCertSign, and its path length allows `below` CAs under it. */
function checkCa(c: Cert, below: number): void {
  const bc = basicConstraints(c);
  if (!bc?.ca) chainError(`certificate "${c.subject}" issues a certificate but is not a CA`);
  const ku = keyUsage(c);
  if (!ku?.keyCertSign) chainError(`CA certificate "${c.subject}" lacks the keyCertSign key usage`);
  if (bc.pathLength !== undefined && below > bc.pathLength) chainError(`CA certificate "${c.subject}" allows ${bc.pathLength} CAs below it, the chain has ${below}`);
}

const ALG_KEYS: Record<SignatureAlgorithm, { type: 'rsa' | 'ec'; size: number | string; hash: string }> = {
  PS256: { type: 'rsa', size: 2048, hash: 'sha256' },
  PS384: { type: 'rsa', size: 3072, hash: 'sha384' },
  PS512: { type: 'rsa', size: 4096, hash: 'sha512' },
  ES256: { type: 'ec', size: 'prime256v1', hash: 'sha256' },
  ES384: { type: 'ec', size: 'secp384r1', hash: 'sha384' },
  ES512: { type: 'ec', size: 'secp521r1', hash: 'sha512' },
};

/** The hash of an algorithm. */
export function hashOf(alg: SignatureAlgorithm): string {
  return ALG_KEYS[alg].hash;
}

/**
 * Whether the key fits the algorithm (spec "Algorithm selection": the key fixes it: RSA 2048 →
 * PS256, 3072 → PS384, 4096 → PS512, P-256 → ES256, P-384 → ES384, P-521 → ES512).
 */
export function keyMatchesAlg(key: KeyObject, alg: SignatureAlgorithm): boolean {
  const want = ALG_KEYS[alg];
  const d = key.asymmetricKeyDetails;
  if (want.type === 'rsa') return key.asymmetricKeyType === 'rsa' && d?.modulusLength === want.size;
  return key.asymmetricKeyType === 'ec' && d?.namedCurve === want.size;
}

/** Parses an RFC 4514-style DN (`C=US, ST=WA, O=Notary, CN=x`) into attribute → value. */
export function parseDn(dn: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === '\\' && i + 1 < dn.length) {
      cur += dn[++i];
    } else if (ch === ',' || ch === '+') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) return undefined;
    const k = p.slice(0, eq).trim().toUpperCase();
    const v = p.slice(eq + 1).trim();
    if (k === '' || v === '' || out.has(k)) return undefined;
    out.set(k, v);
  }
  return out;
}

/** The subject of a certificate as attribute → value (multi-valued attributes: the first). */
export function subjectAttributes(c: Cert): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of c.node.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const k = line.slice(0, eq).trim().toUpperCase();
    if (!out.has(k)) out.set(k, line.slice(eq + 1).trim());
  }
  return out;
}
