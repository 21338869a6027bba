/**
 * Notation signature envelopes: the parts every check needs, read from a JWS
 * (notaryproject/specifications signature-envelope-jws.md) or a COSE_Sign1
 * (signature-envelope-cose.md) envelope by ./jws.ts and ./cose.ts. Parsing checks shape and
 * bounds only; nothing here says the signature is good (./verify.ts does).
 */
import { OcitrustError } from '../errors/index.js';

/** Media type of a JWS envelope layer. */
export const JWS_MEDIA_TYPE = 'application/jose+json';
/** Media type of a COSE envelope layer. */
export const COSE_MEDIA_TYPE = 'application/cose';
/** The payload content type every Notation signature carries (`cty` / COSE label 3). */
export const PAYLOAD_CONTENT_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
/** `artifactType` of a Notation signature manifest. */
export const NOTATION_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
/** Manifest annotation: SHA-256 thumbprints of the signing chain. */
export const THUMBPRINT_ANNOTATION = 'io.cncf.notary.x509chain.thumbprint#S256';

/** Signing scheme: signing time claimed by the signer, trusted through a TSA timestamp. */
export const SCHEME_X509 = 'notary.x509';
/** Signing scheme: the signing authority vouches for the signing time. */
export const SCHEME_SIGNING_AUTHORITY = 'notary.x509.signingAuthority';

/** The header names of the Notary Project signature spec (same names in JWS and COSE). */
export const H = Object.freeze({
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  signingAgent: 'io.cncf.notary.signingAgent',
  timestampSignature: 'io.cncf.notary.timestampSignature',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
});

/** Signature algorithms the spec allows; each fixes key type and size (signature-specification.md). */
export type SignatureAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** The bounds on an envelope (bytes or counts); parsing refuses anything beyond them. */
export const ENVELOPE_LIMITS = Object.freeze({
  /** Largest envelope accepted: a chain of 10 certificates plus a timestamp token fits easily. */
  maxEnvelopeBytes: 256 * 1024,
  /** Largest payload (a descriptor with annotations). */
  maxPayloadBytes: 64 * 1024,
  /** Most certificates in the signing chain (leaf … root). */
  maxChainLength: 10,
  /** Largest single certificate (DER). */
  maxCertificateBytes: 16 * 1024,
  /** Largest RFC 3161 timestamp token (DER). */
  maxTimestampBytes: 64 * 1024,
  /** Most protected header entries. */
  maxHeaders: 64,
});

/** What a Notation envelope says, format-independent. */
export interface NotationEnvelope {
  readonly format: 'jws' | 'cose';
  readonly alg: SignatureAlgorithm;
  readonly signingScheme: string;
  /** `io.cncf.notary.signingTime` (scheme notary.x509): claimed by the signer, not trusted alone. */
  readonly signingTime?: Date;
  /** `io.cncf.notary.authenticSigningTime` (scheme notary.x509.signingAuthority). */
  readonly authenticSigningTime?: Date;
  readonly expiry?: Date;
  /** The `crit` list as written. */
  readonly critical: readonly string[];
  /** Critical entries that are not the spec's own headers (extended critical attributes, plugins). */
  readonly extendedCritical: readonly string[];
  readonly contentType: string;
  /** The payload bytes (JSON `{targetArtifact}`). */
  readonly payload: Uint8Array;
  /** The exact bytes the signature covers (JWS signing input / COSE Sig_structure). */
  readonly signingInput: Uint8Array;
  /** The signature value (JWS: as decoded; COSE: raw r‖s for ECDSA). */
  readonly signature: Uint8Array;
  /** DER certificates, leaf first. */
  readonly certificates: readonly Uint8Array[];
  /** The RFC 3161 TimeStampToken (CMS ContentInfo), when the envelope has a countersignature. */
  readonly timestamp?: Uint8Array;
  readonly signingAgent?: string;
}

/** Throws the coded error for a malformed envelope. */
export function invalid(what: string): never {
  throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `Notation signature envelope: ${what}`);
}

/** The spec's own protected headers; anything else is an extended attribute. */
export const KNOWN_PROTECTED = new Set<string>([H.signingScheme, H.signingTime, H.authenticSigningTime, H.expiry]);

/**
 * Checks what both formats require of the signed attributes (signature-specification.md
 * "Signed attributes"): content type, scheme-specific time, crit covering the scheme, expiry
 * and authentic signing time, and every crit entry present.
 */
export function checkSignedAttributes(e: {
  contentType: unknown;
  signingScheme: unknown;
  signingTime?: Date | undefined;
  authenticSigningTime?: Date | undefined;
  expiry?: Date | undefined;
  critical: readonly string[];
  present: (name: string) => boolean;
}): void {
  if (e.contentType !== PAYLOAD_CONTENT_TYPE) invalid(`expected content type ${PAYLOAD_CONTENT_TYPE}, got ${short(e.contentType)}`);
  if (typeof e.signingScheme !== 'string') invalid(`expected a string ${H.signingScheme}, got ${short(e.signingScheme)}`);
  const crit = new Set(e.critical);
  if (crit.size !== e.critical.length) invalid('crit lists a header twice');
  if (!crit.has(H.signingScheme)) invalid(`expected crit to list ${H.signingScheme}`);
  if (e.expiry !== undefined && !crit.has(H.expiry)) invalid(`expected crit to list ${H.expiry}, which is present`);
  if (e.authenticSigningTime !== undefined && !crit.has(H.authenticSigningTime)) invalid(`expected crit to list ${H.authenticSigningTime}, which is present`);
  for (const c of e.critical) if (!e.present(c)) invalid(`crit lists ${short(c)}, which is not a protected header`);
  // A scheme we know fixes which time it carries; an unknown scheme is reported by the verifier
  // with its own code (NOTATION_SIGNING_SCHEME_UNKNOWN), so it is not an envelope error here.
  if (e.signingScheme === SCHEME_X509 && e.signingTime === undefined) invalid(`scheme ${SCHEME_X509} requires ${H.signingTime}`);
  if (e.signingScheme === SCHEME_SIGNING_AUTHORITY && e.authenticSigningTime === undefined) invalid(`scheme ${SCHEME_SIGNING_AUTHORITY} requires ${H.authenticSigningTime}`);
}

/** A short, printable rendering of an untrusted value for messages. */
export function short(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : v instanceof Uint8Array ? `${v.length} bytes` : JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
