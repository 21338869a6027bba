/**
 * The one place a cosign signature or Sigstore bundle is judged: a `SignedEntity` (the shape
 * @sigstore/verify verifies) against a rule's trust and signers. Both the Sigstore bundle
 * reader and cosign's classic annotations produce a SignedEntity, so the certificate chain,
 * SCT, Rekor SET / inclusion proof / checkpoint and timestamp checks are @sigstore/verify's,
 * not ours; this module picks the thresholds, tries the rule's keys and matches identities.
 */
import { createHash } from 'node:crypto';
import { Verifier, type SignedEntity, type Signer, type TrustMaterial } from '@sigstore/verify';
import { crypto as sigcrypto, type X509Certificate } from '@sigstore/core';
// Not re-exported by the package index; they are the functions Verifier itself uses for a
// certificate, called here so that SCTs can be left unchecked when the rule has no CT log.
import { verifyCertificateChain } from '@sigstore/verify/dist/key/certificate.js';
import { verifySCTs } from '@sigstore/verify/dist/key/sct.js';
import type { ErrorCode } from '../errors/index.js';
import type { CosignTrust } from './trust.js';

/** A keyless signer a rule trusts: the certificate's OIDC issuer and subject (SAN). */
export interface TrustedIdentity {
  /** The OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8 / .1.1); omitted: not checked (private PKI). */
  readonly issuer?: string;
  /** The subject alternative name, exactly. */
  readonly subject?: string;
  /** Or a regular expression the whole subject must match. */
  readonly subjectRegExp?: string;
}

/** Whom a rule trusts and how strictly. */
export interface SignerPolicy {
  readonly identities: readonly TrustedIdentity[];
  /** A transparency log entry must verify (keyless: default true; key-based: default false). */
  readonly requireTlog?: boolean;
}

/** What a verified signature is reported as. */
export interface EntityOk {
  readonly ok: true;
  /** Key id (SHA-256 of the SPKI) for keys, SHA-256 of the leaf DER for certificates. */
  readonly keyid: string;
  readonly identity?: { readonly subject?: string; readonly issuer?: string };
  /** The earliest verified timestamp (log integrated time or RFC 3161), if any. */
  readonly signedAt?: Date;
}
export interface EntityBad {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}
export type EntityVerdict = EntityOk | EntityBad;

/** Clock skew tolerated for a log's integrated time ahead of ours. */
const FUTURE_SKEW_MS = 5 * 60 * 1000;

/** Maps @sigstore/verify's error codes onto the catalogue. */
export function sigstoreCode(e: unknown): ErrorCode {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'SIGSTORE_SIGNATURE_INVALID';
  if (code.startsWith('TLOG')) return 'SIGSTORE_TLOG_INVALID';
  if (code === 'CERTIFICATE_ERROR') return 'SIGSTORE_CERTIFICATE_INVALID';
  if (code === 'PUBLIC_KEY_ERROR') return 'SIGSTORE_KEY_UNTRUSTED';
  if (code === 'TIMESTAMP_ERROR') return 'SIGSTORE_TIMESTAMP_INVALID';
  if (code === 'UNTRUSTED_SIGNER_ERROR') return 'SIGSTORE_IDENTITY_MISMATCH';
  return 'SIGSTORE_SIGNATURE_INVALID';
}

function describeError(e: unknown): string {
  if (e instanceof RangeError) return 'certificate path too deep (a loop?)';
  const msg = e instanceof Error ? e.message : String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== msg ? `${msg}: ${cause.message}` : msg;
}

function bad(code: ErrorCode, message: string): EntityBad {
  return { ok: false, code, message };
}

/** The entity without its log entries and their times (the rule gives no log to check them against). */
function withoutTlog(entity: SignedEntity): SignedEntity {
  return { ...entity, tlogEntries: [], timestamps: entity.timestamps.filter((t) => t.$case !== 'transparency-log') };
}

function logTimes(entity: SignedEntity): Date[] {
  return entity.tlogEntries
    .map((e) => Number(e.integratedTime))
    .filter((t) => Number.isFinite(t) && t > 0)
    .map((t) => new Date(t * 1000));
}

function earliest(entity: SignedEntity): Date | undefined {
  const times = [...logTimes(entity), ...entity.timestamps.flatMap((t) => (t.$case === 'timestamp-authority' ? [t.timestamp.signingTime] : []))];
  return times.length === 0 ? undefined : new Date(Math.min(...times.map((d) => d.getTime())));
}

function subjectMatches(want: TrustedIdentity, subject: string | undefined): boolean {
  if (subject === undefined) return false;
  if (want.subject !== undefined) return want.subject === subject;
  if (want.subjectRegExp !== undefined) return new RegExp(`^(?:${want.subjectRegExp})$`).test(subject);
  return false;
}

const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

/** The signer a certificate names (as @sigstore/verify's getSigner: SAN and Fulcio issuer). */
function signerOf(cert: X509Certificate): Signer {
  const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
  const issuer = v2 ? v2.valueObj.subs?.[0]?.value.toString('ascii') : cert.extension(OID_FULCIO_ISSUER_V1)?.value.toString('ascii');
  const san = cert.subjectAltName;
  return {
    key: sigcrypto.createPublicKey(cert.publicKey),
    identity: { ...(san !== undefined ? { subjectAlternativeName: san } : {}), extensions: { ...(issuer !== undefined ? { issuer } : {}) } },
  };
}

/**
 * The certificate checks of @sigstore/verify (chain to a trusted CA at every timestamp, SCTs
 * against the trust's CT logs) with one difference: without any CT log in the rule's trust,
 * SCTs are not checked (cosign's --insecure-ignore-sct; containers/image does not check them).
 */
function checkCertificate(leaf: X509Certificate, times: readonly Date[], trust: CosignTrust): Signer {
  let path: X509Certificate[] = [];
  for (const t of times) path = verifyCertificateChain(t, leaf, trust.material.certificateAuthorities);
  if (trust.hasCtlogs) {
    const scts = verifySCTs(path[0]!, path[1]!, trust.material.ctlogs);
    if (scts.length < 1) throw Object.assign(new Error(`expected 1 verified SCT, got ${scts.length}`), { code: 'CERTIFICATE_ERROR' });
  }
  return signerOf(leaf);
}

/** Checks a verified certificate signer against the rule's identities. */
function matchIdentity(signer: Signer, identities: readonly TrustedIdentity[]): EntityBad | { subject?: string; issuer?: string } {
  const subject = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  const hit = identities.find((id) => subjectMatches(id, subject) && (id.issuer === undefined || id.issuer === issuer));
  if (!hit) {
    return bad('SIGSTORE_IDENTITY_MISMATCH', `expected a certificate for one of ${JSON.stringify(identities.map((i) => ({ issuer: i.issuer, subject: i.subject ?? i.subjectRegExp })))}, got subject ${JSON.stringify(subject ?? null)} issuer ${JSON.stringify(issuer ?? null)}`);
  }
  return { ...(subject !== undefined ? { subject } : {}), ...(issuer !== undefined ? { issuer } : {}) };
}

/**
 * Verifies one entity. Never throws: every failure is a verdict with a catalogue code.
 *
 * Key-based entities are tried against each of the rule's keys (a bundle's key hint is not a
 * trusted name). Log entries are checked when the rule has log keys (trusted root or
 * rekorKeys) and ignored otherwise; `requireTlog` then needs one. A certificate without any
 * timestamp must be valid at `now` (cosign's rule for signatures without a log entry).
 */
export function verifyEntity(entity0: SignedEntity, trust: CosignTrust, policy: SignerPolicy, now: Date): EntityVerdict {
  try {
    const entity = trust.hasTlogs ? entity0 : withoutTlog(entity0);
    for (const t of logTimes(entity)) {
      if (t.getTime() > now.getTime() + FUTURE_SKEW_MS) return bad('SIGSTORE_TLOG_INVALID', `expected a log integrated time before ${now.toISOString()}, got ${t.toISOString()}`);
    }
    const isKey = entity.key.$case === 'public-key';
    const requireTlog = policy.requireTlog ?? !isKey;
    if (requireTlog && entity.tlogEntries.length === 0) {
      return bad('SIGSTORE_TLOG_INVALID', trust.hasTlogs ? 'expected a transparency log entry, got none' : 'expected a transparency log entry checked against the rule\'s trustedRoot or rekorKeys, got a rule without log keys');
    }
    const options = { tlogThreshold: requireTlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 };
    if (entity.key.$case === 'public-key') {
      if (trust.keys.length === 0) return bad('SIGSTORE_KEY_UNTRUSTED', 'expected a certificate-signed signature (the rule names identities, not keys), got a key-signed one');
      let last: EntityBad | undefined;
      for (const k of trust.keys) {
        const material: TrustMaterial = { ...trust.material, publicKey: () => ({ publicKey: k.key, validFor: () => true }) };
        try {
          new Verifier(material, options).verify(entity);
          return { ok: true, keyid: k.keyid, ...withTime(earliest(entity)) };
        } catch (e) {
          const code = sigstoreCode(e);
          last = code === 'SIGSTORE_SIGNATURE_INVALID'
            ? bad('SIGSTORE_KEY_UNTRUSTED', `expected a signature by one of the rule's ${trust.keys.length} key(s), got one none of them verifies`)
            : bad(code, describeError(e));
        }
      }
      return last!;
    }
    if (policy.identities.length === 0) return bad('SIGSTORE_KEY_UNTRUSTED', 'expected a key-signed signature (the rule names keys, not identities), got a certificate-signed one');
    const leaf = entity.key.certificate;
    let signer: Signer;
    if (entity.timestamps.length > 0) {
      const verifier = new Verifier(trust.material, { ...options, timestampThreshold: 1 });
      // The library's own flow, with the certificate step as checkCertificate (SCT rule above).
      (verifier as unknown as { verifySigningKey: (e: SignedEntity, times: Date[]) => Signer }).verifySigningKey = (_e, times) => checkCertificate(leaf, times, trust);
      signer = verifier.verify(entity);
    } else {
      // No timestamp at all: the certificate must be valid now.
      // Log entries without a time (Rekor v2) need an RFC 3161 timestamp, which is missing.
      if (entity.tlogEntries.length > 0) return bad('SIGSTORE_TIMESTAMP_INVALID', 'expected a timestamp (log integrated time or RFC 3161) beside the log entry, got none');
      signer = checkCertificate(leaf, [now], trust);
      if (!entity.signature.verifySignature(signer.key)) return bad('SIGSTORE_SIGNATURE_INVALID', 'expected a signature the certificate\'s key verifies, got one it does not');
    }
    const id = matchIdentity(signer, policy.identities);
    if ('ok' in id) return id;
    return { ok: true, keyid: createHash('sha256').update(leaf.root.toDER()).digest('hex'), identity: id, ...withTime(earliest(entity)) };
  } catch (e) {
    return bad(sigstoreCode(e), describeError(e));
  }
}

function withTime(d: Date | undefined): { signedAt?: Date } {
  return d === undefined ? {} : { signedAt: d };
}
