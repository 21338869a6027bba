/**
 * Verifying one image under a `notation:` rule (the scheme in scheme.ts imports this on first
 * use): the statement of the trust policy for the image's repository, the signatures found,
 * each envelope verified against the trust stores, then combined.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { failure, type VerifiedSignature, type VerifyFailure } from '../verify/result.js';
import type { SchemeInput, SchemeVerification } from '../schemes/types.js';
import { discoverNotationSignatures } from './discover.js';
import { parseTrustPolicy, statementFor, type TrustPolicyDocument } from './trustpolicy.js';
import { loadStore, type StoreType } from './truststore.js';
import type { NotationConfig } from './scheme.js';
import { verifyEnvelope, type EnvelopeVerdict, type RevocationChecker } from './verify.js';
import { createCrlChecker } from './crl.js';
import type { Cert } from './x509.js';

const MAX_POLICY_BYTES = 1024 * 1024;
/** Parsed files, reused while their size and mtime stay the same. */
const policyCache = new Map<string, { stamp: string; doc: TrustPolicyDocument }>();
const storeCache = new Map<string, { stamp: string; certs: Cert[] }>();
const stampOf = (paths: readonly string[]): string =>
  paths
    .map((p) => {
      try {
        const s = statSync(p);
        return `${p}:${s.size}:${s.mtimeMs}`;
      } catch {
        return `${p}:-`;
      }
    })
    .join('|');

function loadPolicy(path: string): TrustPolicyDocument {
  const stamp = stampOf([path]);
  const hit = policyCache.get(path);
  if (hit?.stamp === stamp) return hit.doc;
  let bytes: Uint8Array;
  try {
    if (statSync(path).size > MAX_POLICY_BYTES) throw new OcitrustError('NOTATION_TRUST_POLICY_INVALID', `Notation trust policy ${path}: larger than ${MAX_POLICY_BYTES} bytes`);
    bytes = readFileSync(path);
  } catch (e) {
    if (isOcitrustError(e)) throw e;
    throw new OcitrustError('NOTATION_TRUST_POLICY_INVALID', `Notation trust policy ${path}: cannot be read`);
  }
  const doc = parseTrustPolicy(bytes, `Notation trust policy ${path}`);
  policyCache.set(path, { stamp, doc });
  return doc;
}

function storeLoader(root: string): (type: StoreType, name: string) => Cert[] {
  return (type, name) => {
    const key = `${root}\n${type}\n${name}`;
    const dir = join(root, 'x509', type, name);
    let files: string[] = [];
    try {
      files = readdirSync(dir).map((f) => join(dir, f));
    } catch {
      /* loadStore reports the missing folder */
    }
    const stamp = stampOf([dir, ...files]);
    const hit = storeCache.get(key);
    if (hit?.stamp === stamp) return hit.certs;
    const certs = loadStore(root, type, name);
    storeCache.set(key, { stamp, certs });
    return certs;
  };
}

/** One CRL cache per process (and one for offline use, which never fetches). */
let onlineCrl: RevocationChecker | undefined;
let offlineCrl: RevocationChecker | undefined;
function revocationChecker(offline: boolean): RevocationChecker {
  if (offline) return (offlineCrl ??= createCrlChecker({ offline: true }));
  return (onlineCrl ??= createCrlChecker());
}

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Combines the verdicts on an image's envelopes (notation: one passing signature is enough).
 * A signature that failed only because its revocation could not be checked makes the answer
 * "could not decide" when nothing verified.
 */
export function combineVerdicts(verdicts: readonly EnvelopeVerdict[], extra: readonly VerifyFailure[]): SchemeVerification {
  const signatures: VerifiedSignature[] = [];
  const failures: VerifyFailure[] = [...extra];
  for (const v of verdicts) {
    if (v.verified) {
      signatures.push({
        role: 'notation',
        keyid: v.envelope?.certificates[0] ? chainThumbprint(v) : 'unknown',
        signedAt: v.signedAt ? iso(v.signedAt) : '',
        format: 'notation',
        ...(v.signer ? { identity: { subject: v.signer.subject, issuer: v.signer.issuer } } : {}),
      });
    }
    for (const f of v.failures) failures.push(failure(f.code, f.action === 'log' ? `(logged, not enforced) ${f.message}` : f.message));
  }
  if (signatures.length === 0) {
    // A signature stopped only by an unknown revocation status might have counted: then the
    // answer is "could not decide", whatever the other signatures' verdicts were.
    const undecided = verdicts.flatMap((v) => v.failures).find((f) => f.code === 'NOTATION_REVOCATION_UNKNOWN' && f.action === 'enforce');
    if (undecided) throw new OcitrustError('NOTATION_REVOCATION_UNKNOWN', undecided.message);
    if (verdicts.length === 0) failures.push(failure('NO_SIGNATURES', 'no Notation signature of this image was found'));
  }
  return { verified: signatures.length > 0, signatures, failures };
}

/** The leaf's SHA-256, as in the io.cncf.notary.x509chain.thumbprint#S256 annotation. */
function chainThumbprint(v: EnvelopeVerdict): string {
  return `sha256:${createHash('sha256').update(v.envelope!.certificates[0]!).digest('hex')}`;
}

/** Verifies one image under a `notation:` block (see scheme.ts). */
export async function verifyNotation(c: NotationConfig, input: SchemeInput): Promise<SchemeVerification> {
  const doc = loadPolicy(c.trustPolicy);
  const statement = statementFor(doc, input.reference.repository);
  if (!statement) throw new OcitrustError('NOTATION_NO_TRUST_POLICY', `no statement of the Notation trust policy ${c.trustPolicy} has ${input.reference.repository} or "*" in its registryScopes`);
  // Level skip: the operator chose not to verify this scope (notation verify accepts it).
  if (statement.level === 'skip') return { verified: true, signatures: [], failures: [] };
  const subject = await input.registry.getManifest(input.reference, input.digest);
  const found = await discoverNotationSignatures(input.registry, input.reference, input.digest);
  const store = storeLoader(c.trustStore);
  const revocation = revocationChecker(input.env.offline === true);
  const verdicts: EnvelopeVerdict[] = [];
  const now = input.clock.now();
  for (const s of found.signatures) {
    verdicts.push(await verifyEnvelope(s.envelope, { mediaType: s.mediaType, target: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size }, statement, store, now, revocation }));
  }
  return combineVerdicts(verdicts, found.failures);
}
