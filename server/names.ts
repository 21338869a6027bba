import { OcitrustError } from '../lib/errors/index.js';

/** Longest collection name accepted (the distribution spec's repository name limit). */
export const MAX_COLLECTION_NAME = 255;

// Distribution spec path component; '.' and '..' can never match because separators sit between
// alphanumerics, which is what makes names safe to use as URL tails and cache keys.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// Optional registry host as first segment: lowercase domain labels and an optional port.
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$/;

/**
 * True when `name` is a valid collection name: a lowercase registry-style repository name
 * (`registry.example.com/team/app`, `localhost:5000/app`, `team/app`), at most 255 characters,
 * no empty segments, no `.`/`..` segments.
 */
export function isCollectionName(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_COLLECTION_NAME) return false;
  const segs = name.split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (PATH_COMPONENT.test(s)) continue;
    if (i === 0 && HOST.test(s)) continue;
    return false;
  }
  return true;
}

/**
 * Returns `name` when it is a valid collection name.
 * @throws OcitrustError COLLECTION_NAME_INVALID (the name is quoted only when short, to keep junk out of logs)
 */
export function checkCollectionName(name: unknown): string {
  if (isCollectionName(name)) return name;
  const shown = typeof name === 'string' && name.length <= 80 ? JSON.stringify(name) : 'the given name';
  throw new OcitrustError(
    'COLLECTION_NAME_INVALID',
    `${shown} is not a collection name: expected lowercase registry-style components separated by single '/' (e.g. registry.example.com/team/app)`,
  );
}

/**
 * The name token patterns are matched against for repository `path` of the registry named
 * `registryName` (its host[:port]): `<registryName>/<path>`, the repository's default collection
 * name. The embedded registry (access and its pull gate's publisher bypass), the verifying proxy
 * and the notification receiver all qualify repositories here, so a pattern such as
 * `registry.example.com/team/*` means the same on them as on the trust API, and a host-less
 * pattern (`team/*`) matches no repository anywhere.
 * @example qualifiedRepository('127.0.0.1:7443', 'team/app') // '127.0.0.1:7443/team/app'
 */
export function qualifiedRepository(registryName: string, path: string): string {
  return `${registryName}/${path}`;
}

/** True when `name` is a registry host[:port] that can qualify repositories (see {@link qualifiedRepository}). */
export function isRegistryName(name: unknown): name is string {
  return typeof name === 'string' && !name.includes('/') && isCollectionName(name);
}

/** What a GET under `/v1/collections/` asks for, after the tail was split. */
export type CollectionResource =
  | { kind: 'root'; version: number | null }
  | { kind: 'timestamp' }
  | { kind: 'snapshot'; version: number }
  | { kind: 'targets'; version: number }
  | { kind: 'keys' }
  | { kind: 'metadata' };

const VERSIONED = /^([1-9][0-9]{0,15})\.(root|snapshot|targets)\.json$/;

/**
 * Splits the tail of `/v1/collections/<tail>` into the collection name and the resource named by
 * its last segment. Names contain '/', so the last segment always names the resource and the rest
 * the collection. Returns null when the last segment names no resource.
 * @throws OcitrustError COLLECTION_NAME_INVALID
 */
export function parseCollectionPath(tail: string): { name: string; resource: CollectionResource } | null {
  const cut = tail.lastIndexOf('/');
  if (cut <= 0) return null;
  const last = tail.slice(cut + 1);
  const name = checkCollectionName(tail.slice(0, cut));
  let resource: CollectionResource | null = null;
  if (last === 'root.json') resource = { kind: 'root', version: null };
  else if (last === 'timestamp.json') resource = { kind: 'timestamp' };
  else if (last === 'keys') resource = { kind: 'keys' };
  else if (last === 'metadata') resource = { kind: 'metadata' };
  else {
    const m = VERSIONED.exec(last);
    if (m) {
      const version = Number(m[1]);
      if (!Number.isSafeInteger(version)) return null;
      const role = m[2] as 'root' | 'snapshot' | 'targets';
      resource = role === 'root' ? { kind: 'root', version } : { kind: role, version };
    }
  }
  return resource ? { name, resource } : null;
}

// A pattern segment: path-component characters plus '*' wildcards (within one segment).
const PATTERN_SEGMENT = /^[a-z0-9._:*-]+$/;

/**
 * True when `pattern` is a valid token collection pattern: '/'-separated segments of collection
 * name characters where `*` matches any run of characters within one segment, and a final
 * segment `**` matches one or more further segments (`reg.example.com/**`). `**` alone matches
 * every collection.
 */
export function isCollectionPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_COLLECTION_NAME) return false;
  const segs = pattern.split('/');
  return segs.every((s, i) => (s === '**' ? i === segs.length - 1 : PATTERN_SEGMENT.test(s) && !s.includes('**')));
}

const patternCache = new Map<string, RegExp>();

/** True when collection `name` matches token `pattern` (see {@link isCollectionPattern}). */
export function matchesPattern(pattern: string, name: string): boolean {
  let re = patternCache.get(pattern);
  if (!re) {
    if (!isCollectionPattern(pattern)) return false;
    const segs = pattern.split('/');
    const parts = segs.map((s, i) => {
      if (s === '**') return i === 0 ? '.+' : '(?:/.+)';
      const body = s.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
      return (i === 0 ? '' : '/') + body;
    });
    re = new RegExp(`^${parts.join('')}$`);
    if (patternCache.size > 10_000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re.test(name);
}

/**
 * True when every collection matched by `inner` is also matched by `outer`. Conservative: answers
 * false when it cannot tell, which only ever denies (used to stop an admin from minting tokens for
 * collections outside its own patterns).
 */
export function patternCovers(outer: string, inner: string): boolean {
  if (outer === inner || outer === '**') return true;
  if (!isCollectionPattern(outer) || !isCollectionPattern(inner)) return false;
  if (!inner.includes('*')) return matchesPattern(outer, inner);
  const o = outer.split('/');
  const n = inner.split('/');
  // Segment-wise: a wildcard-free outer segment must equal the inner one; an outer segment with
  // '*' covers an inner segment only when it is exactly '*'; a final outer '**' covers any rest.
  for (let i = 0; i < o.length; i++) {
    const os = o[i]!;
    if (os === '**') return n.length > i;
    const ns = n[i];
    if (ns === undefined || ns === '**') return false;
    if (os === '*') continue;
    if (os.includes('*') || os !== ns) return false;
  }
  return o.length === n.length;
}
