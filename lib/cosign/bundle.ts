/**
 * Sigstore bundles (v0.1, v0.2, v0.3): parsed and checked by @sigstore/bundle, verified by
 * @sigstore/verify (through {@link verifyEntity}). What is ours: the size bound, the binding
 * of the bundle to the artifact (message digest, or the in-toto statement's subject for DSSE),
 * and refusing chains a bundle must not carry.
 */
import { createHash } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { X509Certificate, dsse } from '@sigstore/core';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { DEFAULT_LIMITS } from '../config.js';
import { isPlainObject, parseJson } from '../json.js';
import { MAX_CHAIN_CERTIFICATES, type CosignTrust } from './trust.js';
import { verifyEntity, type EntityVerdict, type SignerPolicy } from './verify-entity.js';

/** Largest bundle read (a bundle with a chain and an inclusion proof is ~10 KiB). */
export const MAX_BUNDLE_BYTES = DEFAULT_LIMITS.maxEnvelopeBytes;
/** Largest DSSE payload (in-toto statement) parsed to find its subject. */
const MAX_STATEMENT_BYTES = DEFAULT_LIMITS.maxEnvelopeBytes;

/** The media types of Sigstore bundles (as `mediaType` in the bundle and as OCI artifactType). */
export const BUNDLE_MEDIA_TYPES: readonly string[] = Object.freeze([
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
]);

/** The OCI artifactType cosign v3 gives bundle referrers. */
export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * What a bundle must be bound to: the artifact's digest (`sha256:<hex>`; enough for DSSE
 * statements) and, for message signatures, its bytes.
 */
export interface BundleSubject {
  readonly digest?: string;
  readonly bytes?: Uint8Array;
}

function subjectHex(subject: BundleSubject, alg: string): string | undefined {
  const name = normalAlg(alg);
  if (name === undefined) return undefined;
  if (subject.bytes) return createHash(name).update(subject.bytes).digest('hex');
  const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(subject.digest ?? '');
  return m && m[1] === name ? m[2] : undefined;
}

/** A parsed bundle, or why it is not one. */
export type ParsedBundle = { readonly ok: true; readonly bundle: Bundle } | { readonly ok: false; readonly message: string };

function why(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parses bundle bytes (bounded strict JSON, then @sigstore/bundle's validation). Never throws. */
export function parseBundle(bytes: Uint8Array): ParsedBundle {
  let json: unknown;
  try {
    json = parseJson(bytes, { maxBytes: MAX_BUNDLE_BYTES, what: 'Sigstore bundle' });
  } catch (e) {
    return { ok: false, message: why(e) };
  }
  if (!isPlainObject(json)) return { ok: false, message: `expected a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}` };
  const mt = json['mediaType'];
  if (typeof mt !== 'string' || !BUNDLE_MEDIA_TYPES.includes(mt)) {
    return { ok: false, message: `expected a bundle mediaType of ${BUNDLE_MEDIA_TYPES.join(', ')}, got ${JSON.stringify(mt ?? null)}` };
  }
  try {
    return { ok: true, bundle: bundleFromJSON(json) };
  } catch (e) {
    return { ok: false, message: why(e) };
  }
}

function normalAlg(alg: string): string | undefined {
  return ({ sha256: 'sha256', 'sha-256': 'sha256', sha384: 'sha384', 'sha-384': 'sha384', sha512: 'sha512', 'sha-512': 'sha512' } as Record<string, string>)[alg.toLowerCase()];
}

/** DSSE: the in-toto statement must name the artifact as a subject. */
function checkStatement(payloadType: string, payload: Uint8Array, subject: BundleSubject): string | undefined {
  if (payloadType !== 'application/vnd.in-toto+json') return `expected a DSSE payloadType application/vnd.in-toto+json, got ${JSON.stringify(payloadType)}`;
  let st: unknown;
  try {
    st = parseJson(payload, { maxBytes: MAX_STATEMENT_BYTES, what: 'in-toto statement' });
  } catch (e) {
    return why(e);
  }
  const subjects = isPlainObject(st) ? st['subject'] : undefined;
  if (!Array.isArray(subjects) || subjects.length === 0) return 'expected an in-toto statement with subjects, got none';
  for (const s of subjects.slice(0, DEFAULT_LIMITS.maxSignatures)) {
    const digests = isPlainObject(s) ? s['digest'] : undefined;
    if (!isPlainObject(digests)) continue;
    for (const [alg, hex] of Object.entries(digests)) {
      if (typeof hex === 'string' && subjectHex(subject, alg) === hex.toLowerCase()) return undefined;
    }
  }
  return 'expected the in-toto statement to name the artifact\'s digest as a subject, got other subjects';
}

/** The certificate chain a bundle carries must be the leaf and intermediates, never a root. */
function checkChain(bundle: Bundle): string | undefined {
  const vm = bundle.verificationMaterial.content;
  if (vm.$case !== 'x509CertificateChain') return undefined;
  const certs = vm.x509CertificateChain.certificates;
  if (certs.length === 0) return 'expected a certificate chain with a leaf, got an empty chain';
  if (certs.length > MAX_CHAIN_CERTIFICATES) return `expected at most ${MAX_CHAIN_CERTIFICATES} certificates in the chain, got ${certs.length}`;
  if (new Set(certs.map((c) => Buffer.from(c.rawBytes).toString('base64'))).size !== certs.length) return 'expected a certificate chain without repeats, got a certificate twice (a loop)';
  for (const c of certs) {
    const cert = X509Certificate.parse(Buffer.from(c.rawBytes));
    if (cert.subject.equals(cert.issuer) && cert.verify()) return 'expected a chain without a root certificate (the trust root provides it), got a self-signed certificate in the bundle';
  }
  return undefined;
}

/**
 * An inclusion proof's `rootHash` and `treeSize` must be the ones its signed checkpoint states.
 * @sigstore/verify checks the Merkle path against the checkpoint alone and never reads the
 * proof's own copies, so a bundle whose copies disagree would verify (found by the fuzz test);
 * such a bundle is inconsistent and is refused, as sigstore-go does.
 */
function checkProofAgainstCheckpoint(bundle: Bundle): string | undefined {
  for (const e of bundle.verificationMaterial.tlogEntries) {
    const proof = e.inclusionProof;
    if (!proof) continue;
    const lines = (proof.checkpoint?.envelope ?? '').split('\n');
    const size = lines[1] ?? '';
    const root = Buffer.from(lines[2] ?? '', 'base64');
    if (size !== String(proof.treeSize)) return `expected the inclusion proof's treeSize to be its checkpoint's ${JSON.stringify(size)}, got ${String(proof.treeSize)}`;
    if (!root.equals(Buffer.from(proof.rootHash))) return 'expected the inclusion proof\'s rootHash to be its checkpoint\'s root hash, got another';
  }
  return undefined;
}

/**
 * Rekor v2 logs a DSSE envelope as a hashedrekord 0.0.2 entry over SHA-256(PAE(type, payload))
 * ("hashedrekord-over-DSSE", rekor-v2 spec §6.1.4), which @sigstore/verify 3.1 does not know
 * yet: its DSSE content only compares the payload hash. The entry's digest may be either; both
 * are hashes of what the signature covers, so accepting the PAE hash binds the same bytes.
 */
function withPaeDigest(entity: SignedEntity, env: { payloadType: string; payload: Buffer }): SignedEntity {
  if (!entity.tlogEntries.some((e) => e.kindVersion?.kind === 'hashedrekord' && e.kindVersion.version === '0.0.2')) return entity;
  const pae = createHash('sha256').update(dsse.preAuthEncoding(env.payloadType, env.payload)).digest();
  const inner = entity.signature;
  return {
    ...entity,
    signature: {
      signature: inner.signature,
      compareSignature: (s) => inner.compareSignature(s),
      compareDigest: (d) => inner.compareDigest(d) || (d.length === pae.length && d.equals(pae)),
      verifySignature: (k) => inner.verifySignature(k),
    },
  };
}

/**
 * Verifies a bundle (bytes as stored) for an artifact under a rule's trust and signers.
 * Never throws: every failure is a verdict with a catalogue code.
 */
export function verifyBundle(bytes: Uint8Array, subject: BundleSubject, trust: CosignTrust, policy: SignerPolicy, now: Date): EntityVerdict {
  const parsed = parseBundle(bytes);
  if (!parsed.ok) return { ok: false, code: 'SIGSTORE_BUNDLE_INVALID', message: parsed.message };
  const bundle = parsed.bundle;
  let entity: SignedEntity;
  try {
    const chain = checkChain(bundle);
    if (chain) return { ok: false, code: 'SIGSTORE_CERTIFICATE_INVALID', message: chain };
    const proof = checkProofAgainstCheckpoint(bundle);
    if (proof) return { ok: false, code: 'SIGSTORE_TLOG_INVALID', message: proof };
    entity = toSignedEntity(bundle, subject.bytes ? Buffer.from(subject.bytes) : undefined);
    if (bundle.content.$case === 'dsseEnvelope') entity = withPaeDigest(entity, bundle.content.dsseEnvelope);
  } catch (e) {
    return { ok: false, code: 'SIGSTORE_BUNDLE_INVALID', message: why(e) };
  }
  if (bundle.content.$case === 'messageSignature') {
    const md = bundle.content.messageSignature.messageDigest;
    const algName = ({ 1: 'sha256', 2: 'sha384', 3: 'sha512' } as Record<number, string>)[md?.algorithm ?? 1] ?? 'unknown';
    if (!subject.bytes) return { ok: false, code: 'COSIGN_DIGEST_MISMATCH', message: 'expected the artifact bytes to check a message signature, got only a digest' };
    const want = subjectHex(subject, algName);
    if (md === undefined || want === undefined || Buffer.from(md.digest).toString('hex') !== want) {
      return { ok: false, code: 'COSIGN_DIGEST_MISMATCH', message: `expected the bundle's message digest to be the artifact's ${algName} ${want ?? ''}, got ${md ? Buffer.from(md.digest).toString('hex') : 'none'}` };
    }
  } else {
    const env = bundle.content.dsseEnvelope;
    const problem = checkStatement(env.payloadType, env.payload, subject);
    if (problem) return { ok: false, code: 'COSIGN_DIGEST_MISMATCH', message: problem };
  }
  return verifyEntity(entity, trust, policy, now);
}
