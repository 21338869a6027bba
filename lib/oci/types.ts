/**
 * OCI and Docker wire types, media type constants and strict parsers for manifests and
 * indexes (OCI image-spec v1.1 manifest.md, image-index.md, descriptor.md).
 *
 * Everything read from a registry is untrusted: the parsers validate shape, bound sizes and
 * turn every failure into an OcitrustError (MANIFEST_INVALID / MANIFEST_UNSUPPORTED). The
 * returned objects are the parsed JSON itself, so unknown fields survive; the digest of a
 * manifest is always computed over the original bytes, never over a re-serialization.
 */
import { OcitrustError } from '../errors/index.js';
import { findNumberLexeme, parseJson, isJsonObject } from '../json.js';
import { isDigest } from '../crypto/hash.js';
import { DEFAULT_LIMITS } from '../config.js';

/** OCI image manifest (image-spec manifest.md). */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** OCI image index (image-spec image-index.md). */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** Docker image manifest v2 schema 2. */
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
/** Docker manifest list (multi-platform), v2 schema 2. */
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** OCI image config. */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** Docker image config. */
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
/** OCI gzip layer. */
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** OCI uncompressed layer. */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
/** Docker gzip layer. */
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** The OCI empty descriptor's media type (blob `{}`). */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

/** `artifactType` of an ocitrust signature manifest (DESIGN §4). */
export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.ocitrust.signature.v1+json';
/** Media type of the layer that holds a DSSE envelope (DESIGN §4). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** Manifest annotation carrying the envelope, base64, so one referrers call carries every signature. */
export const ENVELOPE_ANNOTATION = 'dev.ocitrust.envelope';
/**
 * Annotation of a signature manifest naming the envelope's digest (the layer's), so that the
 * referrers listing that carries the envelope copy also names the digest it must hash to.
 */
export const ENVELOPE_DIGEST_ANNOTATION = 'dev.ocitrust.envelope.digest';
/** Standard OCI creation-time annotation. */
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** Media types a manifest GET may return and that ocitrust understands, preferred first. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.freeze([
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
]);

/** Manifest media types that are indexes (lists of manifests). */
export const INDEX_MEDIA_TYPES: readonly string[] = Object.freeze([OCI_INDEX, DOCKER_MANIFEST_LIST]);

/** The bytes of the empty blob `{}` (fresh copy on every call: Uint8Arrays are mutable). */
export function emptyBlob(): Uint8Array {
  return new Uint8Array([0x7b, 0x7d]);
}

/** Digest of the empty blob `{}`. */
export const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** The OCI empty descriptor (image-spec manifest.md "Guidance for an Empty Descriptor"). */
export const EMPTY_DESCRIPTOR: Readonly<Descriptor> = Object.freeze({
  mediaType: OCI_EMPTY,
  digest: EMPTY_DIGEST,
  size: 2,
});

/** Platform of an index entry (image-spec image-index.md). */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/** Content descriptor (image-spec descriptor.md). Unknown fields are kept. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Base64 of the content, when embedded. */
  data?: string;
  artifactType?: string;
  platform?: Platform;
  [extra: string]: unknown;
}

/** OCI image manifest or Docker v2 schema 2 manifest. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

/** OCI image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

/** Either kind of manifest. Use {@link isIndex} to tell them apart. */
export type Manifest = ImageManifest | ImageIndex;

/** True when `m` is an index (has `manifests`). */
export function isIndex(m: Manifest): m is ImageIndex {
  return Array.isArray((m as ImageIndex).manifests);
}

/** Options of the manifest parsers. */
export interface ParseManifestOptions {
  /** Content-Type the registry sent, used when the document has no `mediaType`. */
  readonly contentType?: string;
  /** Size bound in bytes; default DEFAULT_LIMITS.maxManifestBytes (4 MiB). */
  readonly maxBytes?: number;
  /** Most descriptors accepted in `layers` / `manifests`; default 10 000. */
  readonly maxEntries?: number;
  /** Names the document in error messages. */
  readonly what?: string;
}

/** A JSON number lexeme that an int64/uint64 decoder takes as a non-negative integer. */
const INTEGER_LEXEME = /^(?:0|[1-9][0-9]*)$/;
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const ANNOTATION_LIMIT = 4096;

/** True for an RFC 6838 `type/subtype` media type (no parameters). */
export function isMediaType(v: unknown): v is string {
  return typeof v === 'string' && MEDIA_TYPE_RE.test(v);
}

function bad(what: string, msg: string): never {
  throw new OcitrustError('MANIFEST_INVALID', `${what}: ${msg}`);
}

function checkAnnotations(v: unknown, what: string): void {
  if (v === undefined) return;
  if (!isJsonObject(v)) bad(what, 'annotations must be an object');
  const keys = Object.keys(v);
  if (keys.length > ANNOTATION_LIMIT) bad(what, `more than ${ANNOTATION_LIMIT} annotations`);
  for (const k of keys) if (typeof v[k] !== 'string') bad(what, `annotation ${JSON.stringify(k.slice(0, 64))} is not a string`);
}

function checkStringArray(v: unknown, what: string, field: string): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(what, `${field} must be an array of strings`);
}

/**
 * Validates one descriptor in place and returns it typed.
 * @throws OcitrustError MANIFEST_INVALID
 */
export function parseDescriptor(v: unknown, what = 'descriptor'): Descriptor {
  if (!isJsonObject(v)) bad(what, 'not an object');
  if (!isMediaType(v.mediaType)) bad(what, 'mediaType missing or not a media type');
  if (!isDigest(v.digest)) bad(what, 'digest missing or not a sha256/sha512 digest');
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) bad(what, `size must be a non-negative integer below 2^53, got ${JSON.stringify(v.size)}`);
  checkStringArray(v.urls, what, 'urls');
  checkAnnotations(v.annotations, what);
  if (v.data !== undefined && (typeof v.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.data))) bad(what, 'data must be base64');
  if (v.artifactType !== undefined && !isMediaType(v.artifactType)) bad(what, 'artifactType is not a media type');
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isJsonObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      bad(what, 'platform needs string architecture and os');
    }
    if (p['os.version'] !== undefined && typeof p['os.version'] !== 'string') bad(what, 'platform os.version must be a string');
    if (p.variant !== undefined && typeof p.variant !== 'string') bad(what, 'platform variant must be a string');
    checkStringArray(p['os.features'], what, 'platform os.features');
    checkStringArray(p.features, what, 'platform features');
  }
  return v as Descriptor;
}

function mediaTypeOf(ct: string | undefined): string | undefined {
  if (!ct) return undefined;
  const base = ct.split(';')[0]!.trim().toLowerCase();
  return base || undefined;
}

/**
 * Parses and validates manifest bytes (OCI manifest or index, Docker v2 manifest or list).
 *
 * The kind comes from the document's `mediaType`, else the response Content-Type, else the
 * shape; a document with both `layers` and `manifests` is refused (the ambiguity behind
 * CVE-2021-41190). Docker schema 1 and unknown media types are MANIFEST_UNSUPPORTED.
 *
 * @throws OcitrustError MANIFEST_INVALID, MANIFEST_UNSUPPORTED, INPUT_TOO_LARGE
 * @example const m = parseManifest(bytes, { contentType: res.headers.get('content-type') ?? undefined });
 */
export function parseManifest(bytes: Uint8Array, opts: ParseManifestOptions = {}): Manifest {
  const what = opts.what ?? 'manifest';
  const maxBytes = opts.maxBytes ?? DEFAULT_LIMITS.maxManifestBytes;
  const maxEntries = opts.maxEntries ?? 10_000;
  let doc: unknown;
  try {
    doc = parseJson(bytes, { maxBytes, what });
  } catch (e) {
    if (e instanceof OcitrustError && e.code === 'INPUT_TOO_LARGE') throw e;
    throw new OcitrustError('MANIFEST_INVALID', `${what}: not valid JSON`, { cause: e });
  }
  if (!isJsonObject(doc)) bad(what, 'not a JSON object');
  // Every number of a manifest (schemaVersion, sizes) is an integer, and Go clients decode them
  // into int64s, refusing `2.0` or `1e3` that JSON.parse reads as integers: check the lexemes,
  // so that a manifest we accept is one they can pull (issue 12, item 14).
  const lexeme = findNumberLexeme(bytes, (l) => !INTEGER_LEXEME.test(l));
  if (lexeme !== undefined) {
    bad(what, `numbers must be non-negative integers written without sign, fraction or exponent (as Go clients require), got ${lexeme.slice(0, 40)}`);
  }
  if (doc.schemaVersion === 1) {
    throw new OcitrustError('MANIFEST_UNSUPPORTED', `${what}: Docker schema 1 manifests are not supported`);
  }
  if (doc.schemaVersion !== 2) bad(what, 'schemaVersion must be 2');
  if (doc.mediaType !== undefined && !isMediaType(doc.mediaType)) bad(what, 'mediaType is not a media type');
  const hasLayers = doc.layers !== undefined;
  const hasManifests = doc.manifests !== undefined;
  if (hasLayers && hasManifests) bad(what, 'has both layers and manifests');
  const declared = (doc.mediaType as string | undefined) ?? mediaTypeOf(opts.contentType);
  let kind: 'image' | 'index';
  if (declared === OCI_MANIFEST || declared === DOCKER_MANIFEST) kind = 'image';
  else if (declared === OCI_INDEX || declared === DOCKER_MANIFEST_LIST) kind = 'index';
  else if (doc.mediaType !== undefined) {
    throw new OcitrustError('MANIFEST_UNSUPPORTED', `${what}: unsupported mediaType ${JSON.stringify(String(doc.mediaType).slice(0, 100))}`);
  } else kind = hasManifests ? 'index' : 'image';
  if (kind === 'image' && hasManifests) bad(what, 'an image manifest must not have manifests');
  if (kind === 'index' && hasLayers) bad(what, 'an index must not have layers');

  if (doc.artifactType !== undefined && !isMediaType(doc.artifactType)) bad(what, 'artifactType is not a media type');
  checkAnnotations(doc.annotations, what);
  if (doc.subject !== undefined) parseDescriptor(doc.subject, `${what} subject`);

  if (kind === 'image') {
    parseDescriptor(doc.config, `${what} config`);
    if (!Array.isArray(doc.layers)) bad(what, 'layers must be an array');
    if (doc.layers.length > maxEntries) bad(what, `more than ${maxEntries} layers`);
    doc.layers.forEach((l, i) => parseDescriptor(l, `${what} layers[${i}]`));
    return doc as unknown as ImageManifest;
  }
  if (!Array.isArray(doc.manifests)) bad(what, 'manifests must be an array');
  if (doc.manifests.length > maxEntries) bad(what, `more than ${maxEntries} manifests`);
  doc.manifests.forEach((m, i) => parseDescriptor(m, `${what} manifests[${i}]`));
  return doc as unknown as ImageIndex;
}

/**
 * Parses bytes that must be an image manifest (not an index).
 * @throws OcitrustError MANIFEST_INVALID, MANIFEST_UNSUPPORTED, INPUT_TOO_LARGE
 */
export function parseImageManifest(bytes: Uint8Array, opts: ParseManifestOptions = {}): ImageManifest {
  const m = parseManifest(bytes, opts);
  if (isIndex(m)) bad(opts.what ?? 'manifest', 'expected an image manifest, got an index');
  return m;
}

/**
 * Parses bytes that must be an image index (or Docker manifest list).
 * @throws OcitrustError MANIFEST_INVALID, MANIFEST_UNSUPPORTED, INPUT_TOO_LARGE
 */
export function parseImageIndex(bytes: Uint8Array, opts: ParseManifestOptions = {}): ImageIndex {
  const m = parseManifest(bytes, opts);
  if (!isIndex(m)) bad(opts.what ?? 'index', 'expected an image index, got an image manifest');
  return m;
}

/** The media type a manifest declares or implies (for Content-Type on PUT and for descriptors). */
export function manifestMediaType(m: Manifest): string {
  if (typeof m.mediaType === 'string') return m.mediaType;
  return isIndex(m) ? OCI_INDEX : OCI_MANIFEST;
}

/**
 * The `artifactType` a referrers descriptor should carry for manifest `m`: its `artifactType`,
 * else its `config.mediaType` (distribution-spec "Listing Referrers"); undefined for an index
 * without one.
 */
export function effectiveArtifactType(m: Manifest): string | undefined {
  if (typeof m.artifactType === 'string') return m.artifactType;
  if (!isIndex(m)) return m.config.mediaType;
  return undefined;
}
