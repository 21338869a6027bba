/**
 * X.509 for Notation: parsing (Node's X509Certificate for signatures and names, @peculiar/asn1-x509
 * for the extensions Node does not expose: key usage bits, basic constraints' path length, CRL
 * distribution points; its schema package, not @peculiar/x509 itself, which needs a
 * reflect-metadata polyfill at load time) and the code-signing chain rules of the Notary Project signature spec
 * ("Certificate requirements"): the chain is leaf first, root last, each certificate signed by
 * the next, the root self-signed; CA certificates may sign certificates, the leaf may sign code.
 * Bounded: at most ENVELOPE_LIMITS.maxChainLength certificates, none repeated (a chain that
 * loops is refused before any signature is checked).
 */
import { X509Certificate as NodeCert, createHash, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  CRLDistributionPoints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  KeyUsageFlags,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
} from '@peculiar/asn1-x509';
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
  readonly extensions: ReadonlyMap<string, { readonly critical: boolean; readonly value: ArrayBuffer }>;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject as `C=US, ST=WA, …, CN=…` (messages and identities). */
  readonly subject: string;
  /** SHA-256 of the DER, hex (Notation's thumbprint). */
  readonly thumbprint: string;
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
  try {
    const node = new NodeCert(der);
    const raw = new Uint8Array(node.raw);
    const asn = AsnConvert.parse(raw, Certificate);
    const extensions = new Map<string, { critical: boolean; value: ArrayBuffer }>();
    for (const e of asn.tbsCertificate.extensions ?? []) {
      if (extensions.has(e.extnID)) throw new Error(`extension ${e.extnID} appears twice`);
      extensions.set(e.extnID, { critical: e.critical, value: e.extnValue.buffer });
    }
    return Object.freeze({
      der: raw,
      node,
      extensions,
      notBefore: new Date(node.validFrom),
      notAfter: new Date(node.validTo),
      subject: node.subject.split('\n').join(', '),
      thumbprint: createHash('sha256').update(raw).digest('hex'),
    });
  } catch (e) {
    throw new OcitrustError(code, `${what}: expected an X.509 certificate, got bytes that do not parse (${e instanceof Error ? e.message.slice(0, 100) : 'error'})`);
  }
}

function extension<T>(c: Cert, oid: string, type: new () => T): T | undefined {
  const e = c.extensions.get(oid);
  if (!e) return undefined;
  try {
    return AsnConvert.parse(e.value, type);
  } catch {
    chainError(`certificate "${c.subject}" has a malformed extension ${oid}`);
  }
}

/** Key usage flags of a certificate, undefined when the extension is absent. */
export function keyUsage(c: Cert): number | undefined {
  return extension(c, id_ce_keyUsage, KeyUsage)?.toNumber();
}

/** EKU OIDs, undefined when the extension is absent. */
export function extendedKeyUsage(c: Cert): string[] | undefined {
  const e = extension(c, id_ce_extKeyUsage, ExtendedKeyUsage);
  return e ? [...e].map(String) : undefined;
}

function basicConstraints(c: Cert): { ca: boolean; pathLength?: number } | undefined {
  const b = extension(c, id_ce_basicConstraints, BasicConstraints);
  return b ? { ca: b.cA, ...(b.pathLenConstraint !== undefined ? { pathLength: b.pathLenConstraint } : {}) } : undefined;
}

/** The http(s) URLs of a certificate's CRL distribution points (RFC 5280 §4.2.1.13). */
export function crlDistributionPoints(c: Cert): string[] {
  const dps = extension(c, id_ce_cRLDistributionPoints, CRLDistributionPoints);
  const urls: string[] = [];
  for (const dp of dps ?? []) {
    for (const gn of dp.distributionPoint?.fullName ?? []) {
      const u = gn.uniformResourceIdentifier;
      if (u && /^https?:\/\//i.test(u)) urls.push(u);
    }
  }
  return urls.slice(0, 8);
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
  if (ku === undefined || (ku & KeyUsageFlags.digitalSignature) === 0) chainError(`the signing certificate "${leaf.subject}" lacks the digitalSignature key usage`);
  const ekus = extendedKeyUsage(leaf);
  if (ekus !== undefined && !ekus.includes(eku)) chainError(`the signing certificate "${leaf.subject}" is not for ${purpose} (extended key usage ${ekus.join(', ')})`);
}

/** An issuing certificate: CA, keyCertSign, and its path length allows `below` CAs under it. */
function checkCa(c: Cert, below: number): void {
  const bc = basicConstraints(c);
  if (!bc?.ca) chainError(`certificate "${c.subject}" issues a certificate but is not a CA`);
  const ku = keyUsage(c);
  if (ku === undefined || (ku & KeyUsageFlags.keyCertSign) === 0) chainError(`CA certificate "${c.subject}" lacks the keyCertSign key usage`);
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
