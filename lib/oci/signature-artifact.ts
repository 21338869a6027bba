/**
 * Signature artifacts (DESIGN §4): an OCI image manifest with `artifactType`
 * application/vnd.ocitrust.signature.v1+json, the empty config, one layer holding the DSSE
 * envelope, `subject` = the signed manifest, and the envelope copied (base64) into the
 * `dev.ocitrust.envelope` annotation so one referrers call carries every signature.
 *
 * Reading back treats the registry as untrusted: any inconsistency (bad base64, wrong
 * subject, layer digest or size, annotation disagreeing with the layer) drops that one
 * signature with a coded reason; nothing here can make a signature count that would not
 * count otherwise, because the envelope is verified (DSSE, statement subject) downstream.
 */
import { OcitrustError, describe, type ErrorCode } from '../errors/index.js';
import { digestOf } from '../crypto/hash.js';
import { formatTime, isValidDate } from '../clock.js';
import { DEFAULT_LIMITS } from '../config.js';
import type { FetchedManifest, RegistryClient, RepositoryRef } from './client.js';
import {
  CREATED_ANNOTATION,
  DSSE_ENVELOPE_MEDIA_TYPE,
  EMPTY_DESCRIPTOR,
  ENVELOPE_ANNOTATION,
  ENVELOPE_DIGEST_ANNOTATION,
  OCI_MANIFEST,
  SIGNATURE_ARTIFACT_TYPE,
  effectiveArtifactType,
  isIndex,
  type Descriptor,
  type ImageManifest,
  type Manifest,
} from './types.js';

/** A signature manifest ready to push. */
export interface SignatureManifest {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly size: number;
  readonly manifest: ImageManifest;
  /** The envelope blob (the layer). */
  readonly envelope: { readonly bytes: Uint8Array; readonly digest: string; readonly size: number };
  /** The descriptor a referrers list / fallback index carries for this manifest. */
  readonly descriptor: Descriptor;
}

/** Options of {@link buildSignatureManifest}. */
export interface BuildSignatureOptions {
  /** Descriptor of the signed manifest (mediaType, digest, size). */
  readonly subject: Descriptor;
  /** The DSSE envelope bytes (JSON). */
  readonly envelope: Uint8Array;
  /** Creation time for `org.opencontainers.image.created` (default now). */
  readonly created?: Date;
  /** Extra annotations (cannot override the envelope annotation). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Largest envelope accepted (default DEFAULT_LIMITS.maxEnvelopeBytes). */
  readonly maxEnvelopeBytes?: number;
}

const enc = new TextEncoder();

/**
 * Builds the signature manifest for an envelope (DESIGN §4). The caller pushes the empty
 * config blob and the envelope blob before the manifest (distribution 2.8 requires it).
 *
 * @throws OcitrustError INPUT_TOO_LARGE, INVALID_ARGUMENT
 * @example const sig = buildSignatureManifest({ subject, envelope: bytes });
 */
export function buildSignatureManifest(opts: BuildSignatureOptions): SignatureManifest {
  if (typeof opts !== 'object' || opts === null) throw new OcitrustError('INVALID_ARGUMENT', `buildSignatureManifest: expected options {subject, envelope}, got ${describe(opts)}`);
  const s0 = opts.subject as Partial<Descriptor> | undefined;
  if (typeof s0 !== 'object' || s0 === null || typeof s0.mediaType !== 'string' || typeof s0.digest !== 'string' || !Number.isSafeInteger(s0.size)) {
    throw new OcitrustError('INVALID_ARGUMENT', `buildSignatureManifest: subject: expected a descriptor {mediaType, digest, size}, got ${describe(s0)}`);
  }
  if (opts.created !== undefined && !isValidDate(opts.created)) {
    throw new OcitrustError('INVALID_ARGUMENT', `buildSignatureManifest: created: expected a valid Date, got ${describe(opts.created)}`);
  }
  const max = opts.maxEnvelopeBytes ?? DEFAULT_LIMITS.maxEnvelopeBytes;
  if (!(opts.envelope instanceof Uint8Array) || opts.envelope.length === 0) {
    throw new OcitrustError('INVALID_ARGUMENT', 'buildSignatureManifest: envelope must be non-empty bytes');
  }
  if (opts.envelope.length > max) throw new OcitrustError('INPUT_TOO_LARGE', `signature envelope of ${opts.envelope.length} bytes exceeds ${max}`);
  const s = opts.subject;
  const subject: Descriptor = { mediaType: s.mediaType, digest: s.digest, size: s.size };
  const envelope = { bytes: opts.envelope, digest: digestOf(opts.envelope), size: opts.envelope.length };
  const annotations: Record<string, string> = {
    ...(opts.annotations ?? {}),
    [CREATED_ANNOTATION]: formatTime(opts.created ?? new Date()),
    [ENVELOPE_ANNOTATION]: Buffer.from(opts.envelope).toString('base64'),
    [ENVELOPE_DIGEST_ANNOTATION]: envelope.digest,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGNATURE_ARTIFACT_TYPE,
    config: { ...EMPTY_DESCRIPTOR },
    layers: [{ mediaType: DSSE_ENVELOPE_MEDIA_TYPE, digest: envelope.digest, size: envelope.size }],
    subject,
    annotations,
  };
  const bytes = enc.encode(JSON.stringify(manifest));
  const digest = digestOf(bytes);
  return {
    bytes,
    digest,
    size: bytes.length,
    manifest,
    envelope,
    descriptor: referrerDescriptor({ manifest, digest, size: bytes.length, mediaType: OCI_MANIFEST }),
  };
}

/**
 * The referrers descriptor of a manifest (distribution-spec "Listing Referrers" and the
 * tag-schema update step 5): mediaType, digest, size, `artifactType` (else config
 * mediaType) and all of the manifest's annotations.
 */
export function referrerDescriptor(m: { manifest: Manifest; digest: string; size: number; mediaType: string }): Descriptor {
  const at = effectiveArtifactType(m.manifest);
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.size,
    ...(at !== undefined ? { artifactType: at } : {}),
    ...(m.manifest.annotations ? { annotations: { ...m.manifest.annotations } } : {}),
  };
}

/** One signature envelope recovered from the registry. */
export interface SignatureEnvelope {
  /** Digest of the signature manifest it came from. */
  readonly manifestDigest: string;
  readonly envelope: Uint8Array;
  /**
   * The digest the registry named for these bytes, compared with their hash by the verifier
   * (ENVELOPE_DIGEST_MISMATCH): the layer descriptor's for a fetched layer, the
   * `dev.ocitrust.envelope.digest` annotation for the listing's copy. Absent when nothing names
   * one (signatures written before the annotation existed).
   */
  readonly digest?: string;
  /** Where the bytes came from: the descriptor's annotation or the fetched layer blob. */
  readonly source: 'annotation' | 'layer';
}

/** A signature that was dropped, with why. */
export interface DroppedSignature {
  readonly digest: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** Strict base64 (standard alphabet, canonical padding); undefined when not. */
function decodeBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) return undefined;
  return new Uint8Array(b);
}

/**
 * The envelope from a descriptor's `dev.ocitrust.envelope` annotation, when present,
 * decodable and within the size limit; undefined otherwise (then fetch the manifest).
 */
export function envelopeFromAnnotation(d: Descriptor, maxBytes: number = DEFAULT_LIMITS.maxEnvelopeBytes): Uint8Array | undefined {
  const a = d.annotations?.[ENVELOPE_ANNOTATION];
  if (typeof a !== 'string' || a.length === 0 || a.length > Math.ceil(maxBytes / 3) * 4) return undefined;
  const b = decodeBase64(a);
  if (!b || b.length === 0 || b.length > maxBytes) return undefined;
  return b;
}

function invalid(msg: string): never {
  throw new OcitrustError('SIGNATURE_ARTIFACT_INVALID', msg);
}

/**
 * Checks that a fetched manifest is an ocitrust signature for `subjectDigest` and returns
 * its envelope layer descriptor.
 * @throws OcitrustError SIGNATURE_ARTIFACT_INVALID
 */
export function checkSignatureManifest(m: FetchedManifest, subjectDigest: string, maxEnvelopeBytes: number = DEFAULT_LIMITS.maxEnvelopeBytes): Descriptor {
  const what = `signature manifest ${m.digest}`;
  if (isIndex(m.manifest)) invalid(`${what}: is an index`);
  const man = m.manifest;
  if (effectiveArtifactType(man) !== SIGNATURE_ARTIFACT_TYPE) invalid(`${what}: artifactType is not ${SIGNATURE_ARTIFACT_TYPE}`);
  if (man.subject?.digest !== subjectDigest) invalid(`${what}: subject is not ${subjectDigest}`);
  const layers = man.layers.filter((l) => l.mediaType === DSSE_ENVELOPE_MEDIA_TYPE);
  if (layers.length !== 1) invalid(`${what}: expected exactly one ${DSSE_ENVELOPE_MEDIA_TYPE} layer, found ${layers.length}`);
  const layer = layers[0]!;
  if (layer.size <= 0 || layer.size > maxEnvelopeBytes) invalid(`${what}: envelope layer size ${layer.size} outside 1..${maxEnvelopeBytes}`);
  return layer;
}

/**
 * Recovers the envelope of one referrer by fetching its manifest (digest checked) and the
 * envelope layer (digest and size checked). When the manifest also has the annotation, it
 * must equal the layer bytes.
 *
 * @throws OcitrustError SIGNATURE_ARTIFACT_INVALID, MANIFEST_*, BLOB_*, REGISTRY_*
 */
export async function envelopeFromManifest(
  client: RegistryClient,
  repo: RepositoryRef,
  d: Descriptor,
  subjectDigest: string,
  maxEnvelopeBytes: number = DEFAULT_LIMITS.maxEnvelopeBytes,
): Promise<SignatureEnvelope> {
  const m = await client.getManifest(repo, d.digest);
  if (m.size !== d.size) invalid(`signature manifest ${d.digest}: size ${m.size}, descriptor says ${d.size}`);
  const layer = checkSignatureManifest(m, subjectDigest, maxEnvelopeBytes);
  const bytes = await client.getBlob(repo, layer.digest, { size: layer.size, maxBytes: maxEnvelopeBytes });
  const annotated = m.manifest.annotations?.[ENVELOPE_ANNOTATION];
  if (annotated !== undefined) {
    const a = decodeBase64(annotated);
    if (!a || Buffer.compare(Buffer.from(a), Buffer.from(bytes)) !== 0) {
      invalid(`signature manifest ${d.digest}: envelope annotation differs from the envelope layer`);
    }
  }
  return { manifestDigest: m.digest, envelope: bytes, digest: layer.digest, source: 'layer' };
}

/** Options of {@link collectEnvelopes}. */
export interface CollectOptions {
  /** Largest envelope accepted (default DEFAULT_LIMITS.maxEnvelopeBytes). */
  readonly maxEnvelopeBytes?: number;
  /** Most signatures examined (default DEFAULT_LIMITS.maxSignatures); the rest are dropped. */
  readonly maxSignatures?: number;
  /** Parallel manifest/blob fetches (default 8). */
  readonly concurrency?: number;
  /** Always fetch the manifest and layer, ignoring annotations (slower, canonical copy). */
  readonly preferLayer?: boolean;
}

/**
 * Turns referrer descriptors into envelopes: from the annotation when present and decodable,
 * else by fetching the manifest and layer. Failures drop only that signature and are listed
 * in `dropped` with their code; environment errors (unreachable, timeout) are rethrown so
 * they are not mistaken for a missing signature.
 *
 * @throws OcitrustError REGISTRY_UNREACHABLE, REGISTRY_TIMEOUT, REGISTRY_AUTH_FAILED (environment)
 */
export async function collectEnvelopes(
  client: RegistryClient,
  repo: RepositoryRef,
  subjectDigest: string,
  descriptors: readonly Descriptor[],
  opts: CollectOptions = {},
): Promise<{ envelopes: SignatureEnvelope[]; dropped: DroppedSignature[] }> {
  const misuse = (what: string, v: unknown): never => {
    throw new OcitrustError('INVALID_ARGUMENT', `collectEnvelopes: ${what}, got ${describe(v)}`);
  };
  if (typeof client?.getManifest !== 'function') misuse('client: expected a RegistryClient', client);
  if (typeof repo !== 'object' || repo === null) misuse('repo: expected a repository reference', repo);
  if (typeof subjectDigest !== 'string') misuse('subjectDigest: expected a digest string', subjectDigest);
  if (!Array.isArray(descriptors)) misuse('descriptors: expected an array of descriptors', descriptors);
  if (typeof opts !== 'object' || opts === null) misuse('opts: expected an options object', opts);
  const maxEnv = opts.maxEnvelopeBytes ?? DEFAULT_LIMITS.maxEnvelopeBytes;
  const maxSigs = opts.maxSignatures ?? DEFAULT_LIMITS.maxSignatures;
  const envelopes: SignatureEnvelope[] = [];
  const dropped: DroppedSignature[] = [];
  const seen = new Set<string>();
  const todo: Descriptor[] = [];
  for (const d of descriptors) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    if (d.artifactType !== undefined && d.artifactType !== SIGNATURE_ARTIFACT_TYPE) continue;
    if (todo.length >= maxSigs) {
      dropped.push({ digest: d.digest, code: 'REFERRERS_TOO_MANY', message: `more than ${maxSigs} signatures; not examined` });
      continue;
    }
    todo.push(d);
  }
  const fetchQueue: Descriptor[] = [];
  for (const d of todo) {
    const fromAnnotation = opts.preferLayer ? undefined : envelopeFromAnnotation(d, maxEnv);
    if (fromAnnotation && d.artifactType === SIGNATURE_ARTIFACT_TYPE) {
      const named = d.annotations?.[ENVELOPE_DIGEST_ANNOTATION];
      envelopes.push({ manifestDigest: d.digest, envelope: fromAnnotation, ...(typeof named === 'string' ? { digest: named.slice(0, 200) } : {}), source: 'annotation' });
    } else {
      fetchQueue.push(d);
    }
  }
  const environment = new Set<ErrorCode>(['REGISTRY_UNREACHABLE', 'REGISTRY_TIMEOUT', 'REGISTRY_AUTH_FAILED', 'REGISTRY_DENIED', 'REGISTRY_RATE_LIMITED']);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < fetchQueue.length) {
      const d = fetchQueue[next++]!;
      try {
        envelopes.push(await envelopeFromManifest(client, repo, d, subjectDigest, maxEnv));
      } catch (e) {
        if (!(e instanceof OcitrustError) || environment.has(e.code)) throw e;
        dropped.push({ digest: d.digest, code: e.code, message: e.message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, fetchQueue.length) }, worker));
  // Keep the order of the listing, which is deterministic for a given registry state.
  const order = new Map(todo.map((d, i) => [d.digest, i]));
  envelopes.sort((a, b) => (order.get(a.manifestDigest) ?? 0) - (order.get(b.manifestDigest) ?? 0));
  return { envelopes, dropped };
}
