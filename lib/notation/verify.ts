/**
 * Verification of one Notation signature envelope under one trust policy statement, as
 * notation-go's verifier does it (notaryproject/specifications trust-store-trust-policy.md
 * "Signature verification"): integrity, then authenticity (trust store + trusted identities),
 * expiry, authentic timestamp, revocation, each with the action its level gives it: `enforce`
 * fails the signature, `log` reports the failure and goes on, `skip` does not run the check.
 * Unknown critical attributes, an unknown signing scheme and a signed descriptor that is not
 * the image always fail (they are not validations a level can relax).
 */
import { verify as cryptoVerify, constants } from 'node:crypto';
import { OcitrustError, isOcitrustError, type ErrorCode } from '../errors/index.js';
import { parseJson, isJsonObject } from '../json.js';
import { COSE_MEDIA_TYPE, JWS_MEDIA_TYPE, SCHEME_SIGNING_AUTHORITY, SCHEME_X509, ENVELOPE_LIMITS, type NotationEnvelope } from './envelope.js';
import { parseJws } from './jws.js';
import { parseCose } from './cose.js';
import { hashOf, keyMatchesAlg, parseSigningChain, subjectAttributes, type Cert } from './x509.js';
import { verifyTimestamp } from './timestamp.js';
import type { Action, TrustPolicyStatement, ValidationType } from './trustpolicy.js';
import type { StoreType } from './truststore.js';

/** A target descriptor: what the signature must sign. */
export interface TargetDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** The answer of a revocation check of a signing chain. */
export type RevocationStatus =
  | { readonly status: 'ok' }
  | { readonly status: 'revoked'; readonly subject: string }
  | { readonly status: 'unknown'; readonly subject: string; readonly reason: string };

/** Checks the revocation of a chain (leaf first); ./crl.ts has the CRL implementation. */
export interface RevocationChecker {
  check(chain: readonly Cert[], now: Date): Promise<RevocationStatus>;
}

/** One failed validation and what the level made of it. */
export interface NotationFailure {
  readonly code: ErrorCode;
  readonly message: string;
  readonly type: ValidationType | 'envelope';
  readonly action: Action;
}

/** The verdict on one envelope. */
export interface EnvelopeVerdict {
  readonly verified: boolean;
  readonly failures: readonly NotationFailure[];
  readonly signer?: { readonly subject: string; readonly issuer: string };
  /** The (authentic) signing time, when there is one. */
  readonly signedAt?: Date;
  readonly signingScheme?: string;
  readonly envelope?: NotationEnvelope;
}

/** What {@link verifyEnvelope} needs beyond the envelope. */
export interface VerifyEnvelopeOptions {
  readonly mediaType: string;
  readonly target: TargetDescriptor;
  readonly statement: TrustPolicyStatement;
  /** The certificates of a named store (cached by the caller). */
  readonly store: (type: StoreType, name: string) => readonly Cert[];
  readonly now: Date;
  readonly revocation?: RevocationChecker;
}

/**
 * Parses an envelope of the given media type.
 *
 * @throws OcitrustError NOTATION_ENVELOPE_INVALID
 */
export function parseEnvelope(mediaType: string, bytes: Uint8Array): NotationEnvelope {
  if (mediaType === JWS_MEDIA_TYPE) return parseJws(bytes);
  if (mediaType === COSE_MEDIA_TYPE) return parseCose(bytes);
  throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `Notation signature envelope: expected media type ${JWS_MEDIA_TYPE} or ${COSE_MEDIA_TYPE}, got ${JSON.stringify(mediaType).slice(0, 100)}`);
}

/** Checks the signature value over the signing input with the leaf key. */
function checkIntegrity(env: NotationEnvelope, leaf: Cert): void {
  const key = leaf.node.publicKey;
  if (!keyMatchesAlg(key, env.alg)) {
    const d = key.asymmetricKeyDetails;
    throw new OcitrustError('NOTATION_SIGNATURE_INVALID', `algorithm ${env.alg} does not fit the signing key (${key.asymmetricKeyType} ${d?.modulusLength ?? d?.namedCurve ?? ''})`);
  }
  const hash = hashOf(env.alg);
  const ok = env.alg.startsWith('PS')
    ? cryptoVerify(hash, env.signingInput, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(hash.slice(3)) / 8 }, env.signature)
    : cryptoVerify(hash, env.signingInput, { key, dsaEncoding: 'ieee-p1363' }, env.signature);
  if (!ok) throw new OcitrustError('NOTATION_SIGNATURE_INVALID', `the ${env.format.toUpperCase()} signature does not verify with the signing certificate "${leaf.subject}"`);
}

/** The payload's targetArtifact descriptor. */
function payloadTarget(env: NotationEnvelope): TargetDescriptor {
  let p: unknown;
  try {
    p = parseJson(env.payload, { maxBytes: ENVELOPE_LIMITS.maxPayloadBytes, maxDepth: 8, what: 'Notation payload' });
  } catch (e) {
    if (isOcitrustError(e)) throw new OcitrustError('NOTATION_ENVELOPE_INVALID', `Notation payload: ${e.message}`);
    throw e;
  }
  const t = isJsonObject(p) ? p['targetArtifact'] : undefined;
  if (!isJsonObject(t) || typeof t['mediaType'] !== 'string' || typeof t['digest'] !== 'string' || !Number.isSafeInteger(t['size']) || (t['size'] as number) < 0) {
    throw new OcitrustError('NOTATION_ENVELOPE_INVALID', 'Notation payload: expected {"targetArtifact": {mediaType, digest, size}}');
  }
  return { mediaType: t['mediaType'], digest: t['digest'], size: t['size'] as number };
}

/**
 * Verifies one envelope. Never throws for a bad signature: every failure is in the verdict.
 * Throws only for what is not about the signature (an unreadable trust store).
 *
 * @throws OcitrustError NOTATION_TRUST_STORE_INVALID
 */
export async function verifyEnvelope(bytes: Uint8Array, o: VerifyEnvelopeOptions): Promise<EnvelopeVerdict> {
  const failures: NotationFailure[] = [];
  const { actions } = o.statement;
  const fail = (type: NotationFailure['type'], action: Action, e: unknown): NotationFailure => {
    if (!isOcitrustError(e)) throw e;
    const f = Object.freeze({ code: e.code, message: e.message, type, action });
    failures.push(f);
    return f;
  };
  const verdict = (verified: boolean, extra: Partial<EnvelopeVerdict> = {}): EnvelopeVerdict => Object.freeze({ verified, failures: Object.freeze(failures), ...extra });
  // Integrity: a well-formed envelope, a sound chain, a good signature over the Notation payload.
  let env: NotationEnvelope;
  let chain: Cert[];
  let target: TargetDescriptor;
  try {
    env = parseEnvelope(o.mediaType, bytes);
    chain = parseSigningChain(env.certificates);
    checkIntegrity(env, chain[0]!);
    target = payloadTarget(env);
  } catch (e) {
    fail('integrity', 'enforce', e);
    return verdict(false);
  }
  const leaf = chain[0]!;
  const signedAt = env.authenticSigningTime ?? env.signingTime;
  const about = { signer: { subject: leaf.subject, issuer: leaf.node.issuer.split('\n').join(', ') }, signingScheme: env.signingScheme, envelope: env, ...(signedAt ? { signedAt } : {}) };
  // Not relaxable: the verifier must understand every critical attribute and the scheme.
  if (env.extendedCritical.length > 0) {
    const plugin = env.extendedCritical.includes('io.cncf.notary.verificationPlugin');
    fail('integrity', 'enforce', new OcitrustError('NOTATION_CRITICAL_UNKNOWN', `the signature has critical attributes this verifier does not process: ${env.extendedCritical.map((c) => JSON.stringify(c)).join(', ')}${plugin ? ' (it requires a verification plugin)' : ''}`));
    return verdict(false, about);
  }
  if (env.signingScheme !== SCHEME_X509 && env.signingScheme !== SCHEME_SIGNING_AUTHORITY) {
    fail('integrity', 'enforce', new OcitrustError('NOTATION_SIGNING_SCHEME_UNKNOWN', `expected signing scheme ${SCHEME_X509} or ${SCHEME_SIGNING_AUTHORITY}, got ${JSON.stringify(env.signingScheme).slice(0, 100)}`));
    return verdict(false, about);
  }
  if (target.digest !== o.target.digest || target.size !== o.target.size || target.mediaType !== o.target.mediaType) {
    fail('integrity', 'enforce', new OcitrustError('NOTATION_TARGET_MISMATCH', `the signature signs ${target.mediaType} ${target.digest} (${target.size} bytes), expected ${o.target.mediaType} ${o.target.digest} (${o.target.size} bytes)`));
    return verdict(false, about);
  }
  // Each relaxable validation: run unless skipped; an enforced failure ends the verification.
  const step = async (type: ValidationType, run: () => void | Promise<void>): Promise<boolean> => {
    const action = actions[type];
    if (action === 'skip') return true;
    try {
      await run();
      return true;
    } catch (e) {
      // An unusable trust store is the operator's problem, not the signature's: could not decide.
      if (isOcitrustError(e, 'NOTATION_TRUST_STORE_INVALID')) throw e;
      return fail(type, action, e).action !== 'enforce';
    }
  };
  const storeType: StoreType = env.signingScheme === SCHEME_X509 ? 'ca' : 'signingAuthority';
  const anchors = (type: StoreType): Cert[] => o.statement.trustStores.filter((s) => s.type === type).flatMap((s) => [...o.store(s.type, s.name)]);
  if (
    !(await step('authenticity', () => {
      const root = chain[chain.length - 1]!;
      const trusted = anchors(storeType);
      if (trusted.length === 0) throw new OcitrustError('NOTATION_UNTRUSTED', `trust policy statement "${o.statement.name}" names no ${storeType} trust store for scheme ${env.signingScheme}`);
      if (!trusted.some((a) => a.thumbprint === root.thumbprint)) throw new OcitrustError('NOTATION_UNTRUSTED', `the chain of "${leaf.subject}" ends in "${root.subject}", which is in none of the ${storeType} trust stores of statement "${o.statement.name}"`);
      const ids = o.statement.trustedIdentities;
      if (ids !== '*') {
        const subject = subjectAttributes(leaf);
        const match = ids.some((id) => [...id].every(([k, v]) => subject.get(k) === v));
        if (!match) throw new OcitrustError('NOTATION_IDENTITY_MISMATCH', `signing certificate subject "${leaf.subject}" matches none of the trustedIdentities of statement "${o.statement.name}"`);
      }
    }))
  ) return verdict(false, about);
  if (
    !(await step('expiry', () => {
      if (env.expiry && o.now.getTime() >= env.expiry.getTime()) throw new OcitrustError('NOTATION_EXPIRED', `the signature expired at ${env.expiry.toISOString()}`);
    }))
  ) return verdict(false, about);
  if (!(await step('authenticTimestamp', () => authenticTimestamp(env, chain, o, anchors('tsa'), o.statement.trustStores.some((s) => s.type === 'tsa'))))) return verdict(false, about);
  if (
    !(await step('revocation', async () => {
      if (!o.revocation) return;
      const r = await o.revocation.check(chain, o.now);
      if (r.status === 'revoked') throw new OcitrustError('NOTATION_CERT_REVOKED', `signing chain certificate "${r.subject}" is revoked`);
      if (r.status === 'unknown') throw new OcitrustError('NOTATION_REVOCATION_UNKNOWN', `revocation of "${r.subject}" is unknown: ${r.reason}`);
    }))
  ) return verdict(false, about);
  return verdict(true, about);
}

/**
 * Authentic timestamp (notation-go verifyAuthenticTimestamp): the signing authority's time must
 * lie in every certificate's validity; for notary.x509, a timestamp from a tsa store is
 * required when the statement names one (and, with verifyTimestamp afterCertExpiry, only once
 * a certificate has expired); otherwise every certificate must be valid now.
 */
async function authenticTimestamp(env: NotationEnvelope, chain: readonly Cert[], o: VerifyEnvelopeOptions, tsaAnchors: readonly Cert[], tsaNamed: boolean): Promise<void> {
  const bad = (m: string): never => {
    throw new OcitrustError('NOTATION_TIMESTAMP_INVALID', m);
  };
  if (env.signingScheme === SCHEME_SIGNING_AUTHORITY) {
    const t = env.authenticSigningTime!;
    for (const c of chain) if (t < c.notBefore || t > c.notAfter) bad(`certificate "${c.subject}" was not valid when the signature was made (${t.toISOString()})`);
    return;
  }
  const expiredNow = chain.some((c) => o.now > c.notAfter);
  const useTimestamp = tsaNamed && !(o.statement.verifyTimestamp === 'afterCertExpiry' && !expiredNow);
  if (!useTimestamp) {
    for (const c of chain) {
      if (o.now < c.notBefore) bad(`verification time is before certificate "${c.subject}" validity period (valid from ${c.notBefore.toISOString()})`);
      if (o.now > c.notAfter) bad(`verification time is after certificate "${c.subject}" validity period (expired at ${c.notAfter.toISOString()})`);
    }
    return;
  }
  const token = env.timestamp;
  if (!token) return bad('no timestamp countersignature was found in the signature envelope');
  const ts = verifyTimestamp(token, env.signature, tsaAnchors);
  for (const c of chain) {
    if (ts.earliest < c.notBefore) bad(`the timestamp (${ts.genTime.toISOString()}) can be before certificate "${c.subject}" validity period (valid from ${c.notBefore.toISOString()})`);
    if (ts.latest > c.notAfter) bad(`the timestamp (${ts.genTime.toISOString()}) can be after certificate "${c.subject}" validity period (expired at ${c.notAfter.toISOString()})`);
  }
  // As notation-go: the TSA chain's revocation is part of the authentic timestamp check.
  if (o.revocation) {
    const r = await o.revocation.check(ts.chain, o.now);
    if (r.status === 'revoked') bad(`timestamping certificate "${r.subject}" is revoked`);
    if (r.status === 'unknown') throw new OcitrustError('NOTATION_REVOCATION_UNKNOWN', `revocation of timestamping certificate "${r.subject}" is unknown: ${r.reason}`);
  }
}
