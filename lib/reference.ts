/**
 * Image references: the distribution reference grammar (distribution/reference regexp.go,
 * normalize.go) with Docker's normalization, limited to the digests ocitrust supports
 * (sha256, sha512; DESIGN §1).
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path-component ("/" path-component)*
 *   domain    := host [":" port]        host: DNS labels or [IPv6]
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*     separator: "." | "_" | "__" | "-"+
 *   tag       := [A-Za-z0-9_][A-Za-z0-9._-]{0,127}
 */
import { OcitrustError, assertArg } from './errors/index.js';
import { isDigest } from './crypto/hash.js';

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host as written (normalized): `docker.io`, `localhost:5000`, `ghcr.io`. */
  readonly registry: string;
  /** Full normalized repository name `registry/path` (DESIGN §1 "Repository"). */
  readonly repository: string;
  /** The repository name on the registry (`library/nginx`), as used in `/v2/<path>/…`. */
  readonly path: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  readonly tag?: string;
  /** Digest (`sha256:<hex>` / `sha512:<hex>`) when given. */
  readonly digest?: string;
}

/** Docker Hub's canonical registry name. */
export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
/** Longest repository name (domain included), as in distribution's NameTotalLengthMax. */
export const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]{1,5})?`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9._-]{0,127}';

const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX64_RE = /^[a-f0-9]{64}$/;

function invalid(input: string, why: string): never {
  const shown = input.length > 300 ? `${input.slice(0, 300)}…` : input;
  throw new OcitrustError('REFERENCE_INVALID', `invalid image reference ${JSON.stringify(shown)}: ${why}`);
}

/** True for a valid tag. */
export function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && TAG_RE.test(tag);
}

/**
 * Splits `name` into domain and remainder as Docker does: the first component is a domain
 * when it contains `.` or `:`, is `localhost`, or has an uppercase letter; else Docker Hub.
 */
function splitDomain(name: string): { registry: string; path: string } {
  const i = name.indexOf('/');
  const first = i === -1 ? '' : name.slice(0, i);
  let registry: string;
  let path: string;
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DOCKER_HUB;
    path = name;
  } else {
    registry = first;
    path = name.slice(i + 1);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  return { registry, path };
}

function parseName(input: string, name: string): { registry: string; path: string } {
  if (name === '') invalid(input, 'empty repository name');
  if (HEX64_RE.test(name)) invalid(input, 'a 64-hex string is an image ID, not a repository name');
  const { registry, path } = splitDomain(name);
  if (!DOMAIN_RE.test(registry)) invalid(input, `bad registry host ${JSON.stringify(registry.slice(0, 100))}`);
  const port = /:([0-9]+)$/.exec(registry);
  if (port && Number(port[1]) > 65535) invalid(input, 'port out of range');
  if (!PATH_RE.test(path)) {
    if (PATH_RE.test(path.toLowerCase())) invalid(input, 'repository path must be lowercase');
    invalid(input, 'bad repository path (lowercase letters, digits and . _ __ - separators, components joined by /)');
  }
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) invalid(input, `repository name longer than ${MAX_NAME_LENGTH} characters`);
  return { registry, path };
}

/**
 * Parses and normalizes an image reference. `nginx` → `docker.io/library/nginx:latest`;
 * `localhost:5000/a/b@sha256:…`; tag and digest may both be present (the digest wins for
 * pulling, the tag is kept for tag binding).
 *
 * @throws OcitrustError REFERENCE_INVALID
 * @example parseReference('nginx').repository // 'docker.io/library/nginx'
 */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  if (typeof input !== 'string') throw new OcitrustError('REFERENCE_INVALID', `expected a reference string, got ${typeof input}`);
  if (input.length === 0) invalid(input, 'empty');
  if (input.length > MAX_NAME_LENGTH + 1 + 128 + 1 + 7 + 128) invalid(input, 'too long');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) invalid(input, 'digest must be sha256:<64 hex> or sha512:<128 hex>, lowercase');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) invalid(input, 'bad tag (1–128 of [A-Za-z0-9_.-], not starting with . or -)');
  }
  const { registry, path } = parseName(input, rest);
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = 'latest';
  return Object.freeze({
    registry,
    repository: `${registry}/${path}`,
    path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  });
}

/**
 * Parses a repository name (no tag, no digest) and returns its normalized form.
 * @throws OcitrustError REFERENCE_INVALID
 * @example normalizeRepository('alice/app') // 'docker.io/alice/app'
 */
export function normalizeRepository(input: string): string {
  const r = parseReference(input, { defaultTag: false });
  if (r.tag !== undefined || r.digest !== undefined) invalid(input, 'expected a repository name without tag or digest');
  return r.repository;
}

/** Formats a reference as `repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  assertArg(typeof ref === 'object' && ref !== null && typeof ref.repository === 'string', 'ref', 'ImageReference {repository, tag?, digest?}', ref);
  return `${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The same reference pinned to `digest` (the tag is kept). */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  if (!isDigest(digest)) throw new OcitrustError('REFERENCE_INVALID', 'withDigest: not a sha256/sha512 digest');
  return Object.freeze({ ...ref, digest });
}

/**
 * The TUF target path of a reference (DESIGN §1): `<repository>:<tag>` when a tag is given,
 * else `<repository>@<digest>`.
 */
export function targetPath(ref: ImageReference): string {
  if (ref.tag !== undefined) return `${ref.repository}:${ref.tag}`;
  return `${ref.repository}@${ref.digest ?? ''}`;
}

/** The host the registry API is served from (`docker.io` → `registry-1.docker.io`). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** True for loopback hosts (`localhost`, `127.x.x.x`, `[::1]`), with or without a port. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:[0-9]+$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A reference given as text or as an {@link ImageReference} (the use cases take either),
 * checked at the door: text is parsed, an object must carry the normalized names.
 *
 * @example const ref = referenceArg(o.reference); // 'nginx:1.25' or a parsed ImageReference
 * @throws REFERENCE_INVALID for bad text, INVALID_ARGUMENT for anything else
 */
export function referenceArg(v: unknown, name = 'reference', opts: { defaultTag?: boolean } = {}): ImageReference {
  if (typeof v === 'string') return parseReference(v, opts);
  assertArg(
    typeof v === 'object' && v !== null && typeof (v as ImageReference).repository === 'string' && typeof (v as ImageReference).registry === 'string' && typeof (v as ImageReference).path === 'string',
    name,
    'a reference string or ImageReference {registry, repository, path, tag?, digest?}',
    v,
  );
  const r = v as ImageReference;
  assertArg(r.tag === undefined || typeof r.tag === 'string', `${name}.tag`, 'string', r.tag);
  assertArg(r.digest === undefined || typeof r.digest === 'string', `${name}.digest`, 'string', r.digest);
  return r;
}
