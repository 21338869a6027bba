/**
 * Names and paths of the OCI distribution API (distribution-spec "Pulling manifests":
 * `<name>` and `<reference>` grammar) and the routing of `/v2/…` paths, whose repository
 * names may contain slashes.
 */
import { isDigest } from '../../lib/crypto/hash.js';
import { OcitrustError } from '../../lib/errors/index.js';

/** Longest repository name (the spec: fewer than 256 characters including slashes). */
export const MAX_REPOSITORY_NAME = 255;

// distribution-spec: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** True for a valid repository name (nested names with '/' included). */
export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_REPOSITORY_NAME && NAME_RE.test(name);
}

/** True for a valid tag. */
export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** True when a manifest reference is a digest rather than a tag. */
export function isDigestReference(ref: string): boolean {
  return ref.includes(':');
}

/** A `/v2/…` request, routed. */
export type Route =
  | { readonly kind: 'base' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'tags'; readonly name: string }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'uploads'; readonly name: string }
  | { readonly kind: 'upload'; readonly name: string; readonly id: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'referrers'; readonly name: string; readonly digest: string };

const UPLOAD_ID_RE = /^[0-9a-f]{32}$/;

function checkName(name: string): string {
  if (!isRepositoryName(name)) {
    const shown = name.length <= 80 ? JSON.stringify(name) : 'the repository name';
    throw new OcitrustError('DIST_NAME_INVALID', `${shown} is not a valid repository name`, { details: { name: name.slice(0, 256) } });
  }
  return name;
}

function checkDigest(d: string): string {
  if (!isDigest(d)) {
    throw new OcitrustError('DIST_DIGEST_INVALID', `${JSON.stringify(String(d).slice(0, 80))} is not a sha256/sha512 digest`);
  }
  return d;
}

/**
 * Routes the path after `/v2/` (percent-decoded). The repository part is matched greedily, so
 * `a/manifests/b/manifests/latest` is repository `a/manifests/b`, as in Docker distribution.
 *
 * @throws OcitrustError DIST_ENDPOINT_UNKNOWN, DIST_NAME_INVALID, DIST_DIGEST_INVALID,
 *   DIST_BLOB_UPLOAD_UNKNOWN (malformed upload id)
 */
export function routeV2(rest: string): Route {
  if (rest === '') return { kind: 'base' };
  if (rest === '_catalog') return { kind: 'catalog' };
  let m = /^(.+)\/tags\/list$/.exec(rest);
  if (m) return { kind: 'tags', name: checkName(m[1]!) };
  m = /^(.+)\/manifests\/([^/]+)$/.exec(rest);
  if (m) {
    const name = checkName(m[1]!);
    const reference = m[2]!;
    if (isDigestReference(reference)) checkDigest(reference);
    else if (!isTag(reference)) {
      throw new OcitrustError('DIST_NAME_INVALID', `${JSON.stringify(reference.slice(0, 80))} is neither a tag nor a digest`);
    }
    return { kind: 'manifest', name, reference };
  }
  m = /^(.+)\/blobs\/uploads\/?$/.exec(rest);
  if (m) return { kind: 'uploads', name: checkName(m[1]!) };
  m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(rest);
  if (m) {
    const name = checkName(m[1]!);
    if (!UPLOAD_ID_RE.test(m[2]!)) throw new OcitrustError('DIST_BLOB_UPLOAD_UNKNOWN', 'no such upload');
    return { kind: 'upload', name, id: m[2]! };
  }
  m = /^(.+)\/blobs\/([^/]+)$/.exec(rest);
  if (m) return { kind: 'blob', name: checkName(m[1]!), digest: checkDigest(m[2]!) };
  m = /^(.+)\/referrers\/([^/]+)$/.exec(rest);
  if (m) return { kind: 'referrers', name: checkName(m[1]!), digest: checkDigest(m[2]!) };
  throw new OcitrustError('DIST_ENDPOINT_UNKNOWN', 'not an endpoint of the OCI distribution API');
}

/**
 * Splits a request URL (`/v2/…?query`) into the decoded path after `/v2/`.
 * @throws OcitrustError DIST_ENDPOINT_UNKNOWN for a path outside /v2/ or with broken percent-encoding
 */
export function pathAfterV2(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.startsWith('/v2/') && path !== '/v2') {
    throw new OcitrustError('DIST_ENDPOINT_UNKNOWN', 'not an endpoint of the OCI distribution API');
  }
  const raw = path.slice(4);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new OcitrustError('DIST_ENDPOINT_UNKNOWN', 'malformed percent-encoding in the path');
  }
}
