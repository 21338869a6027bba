/**
 * cosign's classic signature format ("simple signing", cosign specs/SIGNATURE_SPEC.md): one
 * layer per signature in the `sha256-<hex>.sig` image, whose blob is the JSON payload and whose
 * annotations carry the signature, an optional Fulcio certificate and chain, and an optional
 * Rekor SET bundle. The layer becomes a `SignedEntity` so that @sigstore/verify checks the
 * certificate, the SET and the log entry's body exactly as it does for Sigstore bundles.
 */
import { createHash } from 'node:crypto';
import { X509Certificate, crypto as sigcrypto } from '@sigstore/core';
import type { TransparencyLogEntry } from '@sigstore/bundle';
import type { SignedEntity } from '@sigstore/verify';
import { DEFAULT_LIMITS } from '../config.js';
import { isPlainObject, parseJson } from '../json.js';
import { parseReference, type ImageReference } from '../reference.js';
import type { ErrorCode } from '../errors/index.js';
import { MAX_CHAIN_CERTIFICATES } from './trust.js';

/** The media type of a simple-signing layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** The fixtures (and cosign) write `dev.sigstore.cosign/…`; the spec text says `dev.cosignproject.cosign/…`: both are read. */
export const CERTIFICATE_ANNOTATIONS = ['dev.sigstore.cosign/certificate', 'dev.cosignproject.cosign/certificate'] as const;
export const CHAIN_ANNOTATIONS = ['dev.sigstore.cosign/chain', 'dev.cosignproject.cosign/chain'] as const;
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** Largest simple-signing payload (a payload is a few hundred bytes). */
export const MAX_PAYLOAD_BYTES = DEFAULT_LIMITS.maxPayloadBytes;
/** Largest annotation value read (a certificate chain is a few KiB). */
const MAX_ANNOTATION_BYTES = 64 * 1024;

/** How the signed `docker-reference` must relate to the image (c/image's signedIdentity). */
export type ReferenceMatch = 'ignore' | 'repository' | 'exact';

/** A classic signature as read from a layer: the entity to verify and the payload's claims. */
export interface SimpleSignature {
  readonly entity: SignedEntity;
  readonly manifestDigest: string;
  readonly dockerReference: string;
  /** The chain annotation's certificates (untrusted intermediates; see withIntermediates). */
  readonly chain: readonly X509Certificate[];
}

/** Why a layer is not a classic signature. */
export interface LayerProblem {
  readonly code: ErrorCode;
  readonly message: string;
}

function problem(code: ErrorCode, message: string): LayerProblem {
  return { code, message };
}

function annotation(a: Readonly<Record<string, string>>, names: readonly string[]): string | undefined {
  for (const n of names) if (typeof a[n] === 'string') return a[n];
  return undefined;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeB64(s: string): Buffer | undefined {
  const t = s.replace(/\s+/g, '');
  return t.length % 4 === 0 && B64.test(t) ? Buffer.from(t, 'base64') : undefined;
}

/** The PEM certificates of an annotation value, bounded (a chain of 100 is refused unread). */
export function pemCertificates(text: string): X509Certificate[] | LayerProblem {
  if (text.length > MAX_ANNOTATION_BYTES) return problem('SIGSTORE_CERTIFICATE_INVALID', `expected a certificate annotation of at most ${MAX_ANNOTATION_BYTES} bytes, got ${text.length}`);
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) return problem('SIGSTORE_CERTIFICATE_INVALID', 'expected a PEM certificate, got none');
  if (blocks.length > MAX_CHAIN_CERTIFICATES) return problem('SIGSTORE_CERTIFICATE_INVALID', `expected at most ${MAX_CHAIN_CERTIFICATES} certificates in a chain, got ${blocks.length}`);
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    const der = decodeB64(b[1]!);
    if (!der) return problem('SIGSTORE_CERTIFICATE_INVALID', 'expected base64 in the PEM certificate, got other characters');
    try {
      out.push(X509Certificate.parse(der as Buffer<ArrayBuffer>));
    } catch (e) {
      return problem('SIGSTORE_CERTIFICATE_INVALID', `expected a DER X.509 certificate, got bytes that do not parse (${(e as Error).message})`);
    }
  }
  // A chain that repeats a certificate loops; it is refused rather than walked.
  const seen = new Set(out.map((c) => c.root.toDER().toString('base64')));
  if (seen.size !== out.length) return problem('SIGSTORE_CERTIFICATE_INVALID', 'expected a certificate chain without repeats, got a certificate twice (a loop)');
  return out;
}

/** Rekor's SET bundle annotation → a log entry @sigstore/verify checks (SET + body). */
function tlogEntry(text: string): TransparencyLogEntry | LayerProblem {
  const bad = (why: string): LayerProblem => problem('SIGSTORE_TLOG_INVALID', `Rekor bundle annotation: ${why}`);
  let j: unknown;
  try {
    j = parseJson(text, { maxBytes: MAX_ANNOTATION_BYTES, what: 'Rekor bundle annotation' });
  } catch (e) {
    return bad((e as Error).message);
  }
  const set = isPlainObject(j) ? j['SignedEntryTimestamp'] : undefined;
  const p = isPlainObject(j) ? j['Payload'] : undefined;
  if (typeof set !== 'string' || !isPlainObject(p)) return bad('expected {SignedEntryTimestamp, Payload}, got other fields');
  const { body, integratedTime, logIndex, logID } = p;
  if (typeof body !== 'string' || !Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex) || (logIndex as number) < 0 || typeof logID !== 'string' || !/^[0-9a-f]{64}$/.test(logID)) {
    return bad('expected Payload {body: base64, integratedTime, logIndex ≥ 0, logID: 64 hex}, got other values');
  }
  const bodyBytes = decodeB64(body);
  const setBytes = decodeB64(set);
  if (!bodyBytes || !setBytes) return bad('expected base64 body and SignedEntryTimestamp');
  let kind: unknown;
  let version: unknown;
  try {
    const b = parseJson(bodyBytes, { maxBytes: MAX_ANNOTATION_BYTES, what: 'Rekor entry body' });
    kind = isPlainObject(b) ? b['kind'] : undefined;
    version = isPlainObject(b) ? b['apiVersion'] : undefined;
  } catch (e) {
    return bad((e as Error).message);
  }
  if (typeof kind !== 'string' || typeof version !== 'string') return bad('expected an entry body with kind and apiVersion');
  return {
    logIndex: String(logIndex),
    logId: { keyId: Buffer.from(logID, 'hex') },
    kindVersion: { kind, version },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: setBytes },
    canonicalizedBody: bodyBytes,
  } as TransparencyLogEntry;
}

/**
 * Reads one `.sig` layer: its payload blob (already fetched, size-checked) and annotations.
 * Returns the entity to verify, or why the layer is not a usable signature.
 */
export function readSimpleSignature(payload: Uint8Array, annotations: Readonly<Record<string, string>>): SimpleSignature | LayerProblem {
  const sigText = annotations[SIGNATURE_ANNOTATION];
  if (typeof sigText !== 'string') return problem('COSIGN_PAYLOAD_INVALID', `expected the layer annotation ${SIGNATURE_ANNOTATION}, got none`);
  const sig = sigText.length <= 4096 ? decodeB64(sigText) : undefined;
  if (!sig || sig.length === 0) return problem('SIGSTORE_SIGNATURE_INVALID', `expected a standard base64 signature of at most 4096 characters in ${SIGNATURE_ANNOTATION}`);
  let p: unknown;
  try {
    p = parseJson(payload, { maxBytes: MAX_PAYLOAD_BYTES, what: 'cosign payload' });
  } catch (e) {
    return problem('COSIGN_PAYLOAD_INVALID', (e as Error).message);
  }
  const critical = isPlainObject(p) ? p['critical'] : undefined;
  if (!isPlainObject(critical)) return problem('COSIGN_PAYLOAD_INVALID', 'expected a payload with a critical object, got none');
  if (critical['type'] !== 'cosign container image signature') return problem('COSIGN_PAYLOAD_INVALID', `expected critical.type "cosign container image signature", got ${JSON.stringify(critical['type'] ?? null)}`);
  const image = critical['image'];
  const digest = isPlainObject(image) ? image['docker-manifest-digest'] : undefined;
  if (typeof digest !== 'string' || !/^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/.test(digest)) return problem('COSIGN_PAYLOAD_INVALID', `expected critical.image.docker-manifest-digest sha256:<64 hex>, got ${JSON.stringify(digest ?? null)}`);
  const identity = critical['identity'];
  const dockerReference = isPlainObject(identity) && typeof identity['docker-reference'] === 'string' ? identity['docker-reference'] : '';

  const certText = annotation(annotations, CERTIFICATE_ANNOTATIONS);
  let key: SignedEntity['key'];
  let chainCerts: X509Certificate[] = [];
  if (certText !== undefined) {
    const certs = pemCertificates(certText);
    if (!Array.isArray(certs)) return certs;
    if (certs.length !== 1) return problem('SIGSTORE_CERTIFICATE_INVALID', `expected one certificate in the certificate annotation, got ${certs.length}`);
    const chainText = annotation(annotations, CHAIN_ANNOTATIONS);
    if (chainText !== undefined) {
      // Trust comes from the rule's CAs; the chain only offers intermediates (withIntermediates).
      const chain = pemCertificates(chainText);
      if (!Array.isArray(chain)) return chain;
      chainCerts = chain;
    }
    key = { $case: 'certificate', certificate: certs[0]! };
  } else {
    key = { $case: 'public-key', hint: '' };
  }
  const tlogEntries: TransparencyLogEntry[] = [];
  const bundleText = annotations[BUNDLE_ANNOTATION];
  if (bundleText !== undefined) {
    const e = tlogEntry(bundleText);
    if (!('logIndex' in e)) return e;
    tlogEntries.push(e);
  }
  const bytes = Buffer.from(payload);
  const digestOfPayload = createHash('sha256').update(bytes).digest();
  const entity: SignedEntity = {
    key,
    tlogEntries,
    timestamps: tlogEntries.map((tlogEntry) => ({ $case: 'transparency-log' as const, tlogEntry })),
    signature: {
      signature: sig,
      compareSignature: (s) => sigcrypto.bufferEqual(s, sig),
      compareDigest: (d) => sigcrypto.bufferEqual(d, digestOfPayload),
      // ECDSA (DER) and RSA PKCS#1 v1.5 over SHA-256 of the payload, as cosign signs; Ed25519 over the payload.
      verifySignature: (k) => sigcrypto.verify(bytes, k, sig, k.asymmetricKeyType === 'ed25519' ? undefined : 'sha256'),
    },
  };
  return { entity, manifestDigest: digest, dockerReference, chain: chainCerts };
}

/**
 * Checks the signed docker-reference against the image (containers/image's signedIdentity):
 * `ignore` (cosign's rule), `repository` (same registry and path), or `exact` (also the tag
 * when the image was named by tag; c/image's matchRepoDigestOrExact).
 */
export function checkReference(signed: string, image: ImageReference, match: ReferenceMatch): LayerProblem | undefined {
  if (match === 'ignore') return undefined;
  let ref: ImageReference;
  try {
    ref = parseReference(signed);
  } catch {
    return problem('COSIGN_REFERENCE_MISMATCH', `expected a signed docker-reference naming ${image.registry}/${image.path}, got ${JSON.stringify(signed)} (not a reference)`);
  }
  const repo = `${image.registry}/${image.path}`;
  if (`${ref.registry}/${ref.path}` !== repo) return problem('COSIGN_REFERENCE_MISMATCH', `expected a signed docker-reference for ${repo}, got ${signed}`);
  if (match === 'exact' && image.tag !== undefined && ref.tag !== image.tag) {
    return problem('COSIGN_REFERENCE_MISMATCH', `expected the signed docker-reference ${repo}:${image.tag}, got ${signed}`);
  }
  return undefined;
}
