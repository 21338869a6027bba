/**
 * Validation of pushed manifests (distribution-spec "Pushing Manifests"; image-spec
 * manifest.md, image-index.md). The document is parsed strictly by the shared OCI parser; this
 * module adds the registry's own rules: the Content-Type must agree with `mediaType`, and the
 * result names every blob and child manifest that must already exist.
 */
import { OcitrustError } from '../../lib/errors/index.js';
import {
  effectiveArtifactType,
  isIndex,
  manifestMediaType,
  MANIFEST_MEDIA_TYPES,
  parseManifest,
  type Descriptor,
} from '../../lib/oci/types.js';

/** What the registry needs from a valid manifest. */
export interface CheckedManifest {
  readonly mediaType: string;
  readonly kind: 'image' | 'index';
  /** Config and layers that must be blobs of the repository (foreign layers excluded). */
  readonly blobs: readonly Descriptor[];
  /** Index entries that must be manifests of the repository. */
  readonly children: readonly Descriptor[];
  /** Digest of `subject`, when present. */
  readonly subject: string | undefined;
  /** artifactType for the referrers API: `artifactType`, else config.mediaType, else none. */
  readonly artifactType: string | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

/** The media type of a Content-Type header (parameters dropped, lowercased), or undefined. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const base = contentType.split(';')[0]!.trim().toLowerCase();
  return base || undefined;
}

// Non-distributable layers live elsewhere (their `urls`); registries do not hold them.
function isForeign(d: Descriptor): boolean {
  return Array.isArray(d.urls) && d.urls.length > 0 && /nondistributable|foreign/.test(d.mediaType);
}

/**
 * Validates manifest bytes pushed with `contentType`.
 * @throws OcitrustError DIST_TOO_LARGE, DIST_MANIFEST_INVALID
 */
export function checkManifest(bytes: Uint8Array, contentType: string | undefined, maxBytes: number): CheckedManifest {
  if (bytes.length > maxBytes) throw new OcitrustError('DIST_TOO_LARGE', `manifest of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
  const ct = baseMediaType(contentType);
  const known = ct !== undefined && MANIFEST_MEDIA_TYPES.includes(ct) ? ct : undefined;
  let m;
  try {
    m = parseManifest(bytes, { maxBytes, what: 'manifest', ...(known ? { contentType: known } : {}) });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new OcitrustError('DIST_MANIFEST_INVALID', msg, { cause: e });
  }
  if (typeof m.mediaType === 'string' && ct !== undefined && ct !== m.mediaType) {
    throw new OcitrustError(
      'DIST_MANIFEST_INVALID',
      `Content-Type ${JSON.stringify(ct.slice(0, 100))} does not match the manifest mediaType ${JSON.stringify(m.mediaType)}`,
    );
  }
  const mediaType = typeof m.mediaType === 'string' ? m.mediaType : (known ?? manifestMediaType(m));
  const common = {
    mediaType,
    subject: m.subject?.digest,
    artifactType: effectiveArtifactType(m),
    annotations: m.annotations,
  };
  if (isIndex(m)) return { ...common, kind: 'index', blobs: [], children: m.manifests };
  return { ...common, kind: 'image', blobs: [m.config, ...m.layers].filter((d) => !isForeign(d)), children: [] };
}
