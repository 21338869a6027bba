/**
 * The registry client: a small {@link RegistryClient} interface (everything the signer and
 * verifier need from a registry) and its HTTP implementation of the OCI distribution spec
 * v1.1 (opencontainers/distribution-spec spec.md).
 *
 * The registry is untrusted (DESIGN §4): every digest is recomputed from the bytes (a
 * `Docker-Content-Digest` header is never believed over them), every body is size-bounded
 * before and while reading, and every malformed answer becomes a coded error.
 */
import { createHash } from 'node:crypto';
import { CATALOGUE, OcitrustError, describe, isOcitrustError } from '../errors/index.js';
import { digestOf, isDigest, parseDigest } from '../crypto/hash.js';
import { limits as makeLimits, type Limits } from '../config.js';
import { parseJson, isJsonObject } from '../json.js';
import { isLoopbackHost, registryApiHost } from '../reference.js';
import { Authenticator, embeddedRegistryHint, repositoryScope } from './auth.js';
import { dockerConfigCredentials, type CredentialProvider } from './credentials.js';
import { Transport, redactUrl, type FetchLike, type HttpMethod, type HttpResponse, type RetryPolicy } from './transport.js';
import {
  MANIFEST_MEDIA_TYPES,
  OCI_INDEX,
  parseImageIndex,
  parseManifest,
  manifestMediaType,
  type Descriptor,
  type Manifest,
} from './types.js';

/** A repository on a registry; an `ImageReference` is one. */
export interface RepositoryRef {
  /** Registry host as in references (`docker.io`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** Repository path on the registry (`library/nginx`). */
  readonly path: string;
}

/** A manifest read from a registry, with its digest computed from the bytes. */
export interface FetchedManifest {
  readonly bytes: Uint8Array;
  /** Digest of `bytes` (the requested algorithm when fetched by digest, else sha256). */
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly manifest: Manifest;
  /** ETag of the response, for conditional updates. */
  readonly etag?: string;
}

/** What a HEAD on a manifest tells, unverified (there is no body to hash). */
export interface ManifestInfo {
  readonly size?: number;
  readonly mediaType?: string;
  /** The registry's `Docker-Content-Digest`; a claim, not a fact. */
  readonly claimedDigest?: string;
}

/** Result of a manifest PUT. */
export interface PutManifestResult {
  /** Digest computed from the bytes that were sent. */
  readonly digest: string;
  /** `OCI-Subject` response header: the registry indexed the subject (referrers API). */
  readonly ociSubject?: string;
}

/** Result of a referrers API call. */
export type ReferrersResult =
  | { readonly supported: false }
  | {
      readonly supported: true;
      /** Descriptors, re-filtered locally by artifactType when the registry did not filter. */
      readonly manifests: readonly Descriptor[];
      /** True when the registry said `OCI-Filters-Applied: artifactType`. */
      readonly filtersApplied: boolean;
    };

/** Result of a blob push. */
export interface PushBlobResult {
  readonly digest: string;
  readonly size: number;
  /** How the blob got there: already present, mounted from another repository, or uploaded. */
  readonly how: 'exists' | 'mounted' | 'uploaded';
}

/**
 * Everything ocitrust needs from a registry. Implemented over HTTP by
 * {@link HttpRegistryClient}; tests and the embedded registry may provide others.
 */
export interface RegistryClient {
  /**
   * GET a manifest by tag or digest. By digest, the bytes must hash to it.
   * @throws OcitrustError MANIFEST_NOT_FOUND, MANIFEST_DIGEST_MISMATCH, MANIFEST_UNSUPPORTED, REGISTRY_BAD_RESPONSE (served bytes that are not a manifest), REGISTRY_*
   */
  getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest>;
  /** HEAD a manifest; undefined when absent. */
  headManifest(repo: RepositoryRef, reference: string): Promise<ManifestInfo | undefined>;
  /**
   * PUT manifest bytes under a tag or their digest; Content-Type is `mediaType`.
   * @throws OcitrustError REGISTRY_CONFLICT (If-Match failed), REGISTRY_*
   */
  putManifest(repo: RepositoryRef, reference: string, bytes: Uint8Array, mediaType: string, opts?: { ifMatch?: string }): Promise<PutManifestResult>;
  /**
   * DELETE a manifest by digest; false when it was not there.
   * @throws OcitrustError REGISTRY_UNSUPPORTED when the registry refuses deletes
   */
  deleteManifest(repo: RepositoryRef, digest: string): Promise<boolean>;
  /**
   * GET a blob into memory, digest and size checked.
   * @throws OcitrustError BLOB_NOT_FOUND, BLOB_DIGEST_MISMATCH, BLOB_SIZE_MISMATCH, REGISTRY_RESPONSE_TOO_LARGE
   */
  getBlob(repo: RepositoryRef, digest: string, opts?: { size?: number; maxBytes?: number }): Promise<Uint8Array>;
  /** HEAD a blob: its size, or undefined when absent. */
  headBlob(repo: RepositoryRef, digest: string): Promise<number | undefined>;
  /**
   * Upload a blob unless present (optionally mounting it from another repository first).
   * `fresh: true` skips the existence check (the registry's and the client's memory) for bytes
   * that cannot be there yet or must be uploaded again: one round trip fewer, and an upload of
   * present bytes is harmless.
   */
  pushBlob(repo: RepositoryRef, bytes: Uint8Array, opts?: { mountFrom?: string; chunkSize?: number; fresh?: boolean }): Promise<PushBlobResult>;
  /** Every tag of the repository (empty when the repository is unknown). */
  listTags(repo: RepositoryRef): Promise<string[]>;
  /**
   * The referrers API; `{supported: false}` on 404 (spec: fall back to the tag schema). A
   * client may remember a registry without the API for a while; `fresh` asks it again.
   */
  getReferrers(repo: RepositoryRef, digest: string, opts?: { artifactType?: string; fresh?: boolean }): Promise<ReferrersResult>;
}

/** Options of {@link HttpRegistryClient}. */
export interface HttpRegistryClientOptions {
  /** Credentials lookup; default: the Docker config (`dockerConfigCredentials()`). */
  readonly credentials?: CredentialProvider;
  /**
   * Plain HTTP: `true` for every registry, or a list of registry hosts. Loopback hosts
   * always use plain HTTP. Everything else is HTTPS.
   */
  readonly plainHttp?: boolean | readonly string[];
  /** Injected fetch (request counting, tests). */
  readonly fetch?: FetchLike;
  readonly limits?: Partial<Limits>;
  readonly retry?: Partial<RetryPolicy>;
  readonly userAgent?: string;
  /**
   * How long a registry that answered the referrers API with 404 is remembered as one without
   * it, so later listings go straight to the tag schema (ms, default 300 000; 0 = always ask).
   * Like oras-go's per-repository referrers state; `getReferrers({fresh: true})` asks again.
   */
  readonly referrersCapabilityTtlMs?: number;
  /** Most tags/list pages followed (default 1000). */
  readonly maxTagPages?: number;
  /** Largest tags/list page accepted (bytes, default 8 MiB). */
  readonly maxTagPageBytes?: number;
}

const ERROR_BODY_LIMIT = 16 * 1024;
const MAX_TAGS = 1_000_000;

function sanitize(s: string, max = 200): string {
  const t = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/**
 * Parses content the registry served. The bytes are the registry's answer, not the user's
 * input, so what the parser reports as an input error (exit 2: not JSON, not the shape the OCI
 * spec requires) becomes REGISTRY_BAD_RESPONSE (exit 3, could not decide) with the original
 * code kept in the message and in `details.cause`. MANIFEST_UNSUPPORTED (a real manifest of a
 * kind ocitrust does not handle, e.g. Docker schema 1) stays: it is a true answer about the image.
 *
 * @throws OcitrustError REGISTRY_BAD_RESPONSE, MANIFEST_UNSUPPORTED, and what `parse` throws otherwise
 */
export function parseServed<T>(what: string, expected: string, bytes: Uint8Array, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!isOcitrustError(e) || e.code === 'MANIFEST_UNSUPPORTED' || CATALOGUE[e.code].exit !== 2) throw e;
    const text = new TextDecoder().decode(bytes.subarray(0, 160));
    const got = bytes.length === 0 ? 'an empty body' : `${bytes.length} bytes starting ${JSON.stringify(sanitize(text, 40))}`;
    const strip = (m: string): string => (m.startsWith(`${what}: `) ? m.slice(what.length + 2) : m);
    const why = e.cause instanceof Error ? `${strip(e.message)}: ${strip(e.cause.message)}` : strip(e.message);
    throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: expected ${expected}, got ${got}: ${why} (${e.code})`, { cause: e, details: { cause: e.code } });
  }
}

/**
 * True when `e` says content the registry served could not be used as what it should be (a
 * manifest or index that does not parse, has the wrong shape or an unsupported kind), as
 * opposed to the registry being unreachable or refusing: callers that may skip one bad
 * referrer (or treat a bad fallback index as none) use it.
 */
export function isMalformedContent(e: unknown): e is OcitrustError {
  if (!(e instanceof OcitrustError)) return false;
  if (e.code === 'MANIFEST_INVALID' || e.code === 'MANIFEST_UNSUPPORTED') return true;
  return e.code === 'REGISTRY_BAD_RESPONSE' && typeof e.details?.cause === 'string';
}

/** Reads an OCI error body (`{"errors":[{"code","message"}]}`) for messages; never throws. */
async function errorDetail(res: HttpResponse): Promise<{ codes: string[]; text: string }> {
  let body = '';
  try {
    body = await res.text(ERROR_BODY_LIMIT);
  } catch {
    return { codes: [], text: '' };
  }
  try {
    const doc = parseJson(body, { maxBytes: ERROR_BODY_LIMIT, what: 'registry error' });
    if (isJsonObject(doc) && Array.isArray(doc.errors)) {
      const errs = doc.errors.filter(isJsonObject);
      const codes = errs.map((e) => (typeof e.code === 'string' ? e.code : '')).filter(Boolean);
      const text = errs.map((e) => `${String(e.code ?? '')}: ${String(e.message ?? '')}`).join('; ');
      return { codes, text: sanitize(text) };
    }
  } catch {
    // not an OCI error body
  }
  return { codes: [], text: sanitize(body, 120) };
}

/** Parses an RFC 8288 `Link` header; returns the `rel="next"` target, if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

/**
 * The HTTP registry client. One instance can talk to many registries; auth state (tokens)
 * and connections are shared across calls.
 */
export class HttpRegistryClient implements RegistryClient {
  readonly #t: Transport;
  readonly #auth: Authenticator;
  readonly #limits: Limits;
  readonly #plain: boolean | readonly string[];
  readonly #maxTagPages: number;
  readonly #noReferrersApi = new Map<string, number>();
  /** Blobs this client saw present or pushed (`registry/path@digest`), bounded: skips repeated HEADs in bulk signing. */
  readonly #knownBlobs = new Set<string>();
  readonly #capabilityTtlMs: number;
  readonly #maxTagPageBytes: number;

  constructor(opts: HttpRegistryClientOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw new OcitrustError('INVALID_ARGUMENT', `HttpRegistryClient: expected an options object, got ${describe(opts)}`);
    this.#limits = makeLimits(opts.limits);
    this.#capabilityTtlMs = opts.referrersCapabilityTtlMs ?? 300_000;
    this.#t = new Transport({
      fetch: opts.fetch,
      timeoutMs: this.#limits.requestTimeoutMs,
      retry: opts.retry,
      userAgent: opts.userAgent,
    });
    this.#plain = opts.plainHttp ?? false;
    this.#auth = new Authenticator({
      transport: this.#t,
      credentials: opts.credentials ?? dockerConfigCredentials(),
      insecure: opts.plainHttp === true,
    });
    this.#maxTagPages = opts.maxTagPages ?? 1000;
    this.#maxTagPageBytes = opts.maxTagPageBytes ?? 8 * 1024 * 1024;
  }

  /** Limits in force. */
  get limits(): Limits {
    return this.#limits;
  }

  /** Base URL of a registry's API (`https://host`; plain HTTP for loopback or when allowed). */
  baseUrl(registry: string): string {
    const plain =
      this.#plain === true || (Array.isArray(this.#plain) && this.#plain.includes(registry)) || isLoopbackHost(registry);
    return `${plain ? 'http' : 'https'}://${registryApiHost(registry)}`;
  }

  #url(repo: RepositoryRef, suffix: string): string {
    return `${this.baseUrl(repo.registry)}/v2/${repo.path}/${suffix}`;
  }

  /** Sends with auth: proactive header when known, one retry after answering a 401 challenge. */
  async #send(
    registry: string,
    scopes: readonly string[],
    req: { method: HttpMethod; url: string; headers?: Record<string, string>; body?: Uint8Array },
  ): Promise<HttpResponse> {
    const sameOrigin = new URL(req.url).origin === new URL(this.baseUrl(registry)).origin;
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    // Credentials go only to the registry's own origin (an upload Location may be elsewhere).
    const auth = sameOrigin ? await this.#auth.cached(registry, scopes) : undefined;
    if (auth) headers.authorization = auth;
    const res = await this.#t.send({ ...req, headers });
    if (res.status !== 401 || !sameOrigin) return res;
    const fresh = await this.#auth.challenge(registry, res, scopes);
    const again = await this.#t.send({ ...req, headers: { ...headers, authorization: fresh } });
    if (again.status === 401) {
      this.#auth.invalidate(registry);
      await again.discard();
      throw new OcitrustError('REGISTRY_AUTH_FAILED', `${registry}: authentication rejected for ${req.method} ${redactUrl(req.url)}${embeddedRegistryHint(again.headers.get('www-authenticate'))}`);
    }
    return again;
  }

  /** Maps an unexpected status to a coded error (404 → `notFound`). */
  async #fail(res: HttpResponse, what: string, notFound: 'MANIFEST_NOT_FOUND' | 'BLOB_NOT_FOUND' = 'MANIFEST_NOT_FOUND'): Promise<never> {
    const { codes, text } = await errorDetail(res);
    const detail = text ? `: ${text}` : '';
    // A 404's text repeats the name already in `what` ("manifest v1 unknown"): its codes suffice.
    if (res.status === 404) throw new OcitrustError(notFound, `${what}: not found${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`);
    if (res.status === 403) throw new OcitrustError('REGISTRY_DENIED', `${what}: denied${detail}`);
    if (res.status === 401) throw new OcitrustError('REGISTRY_AUTH_FAILED', `${what}: unauthorized${detail}`);
    if (res.status === 429) throw new OcitrustError('REGISTRY_RATE_LIMITED', `${what}: rate limited (429) after retries${detail}`);
    if (res.status === 405 || codes.includes('UNSUPPORTED')) {
      throw new OcitrustError('REGISTRY_UNSUPPORTED', `${what}: not supported by the registry (${res.status})${detail}`);
    }
    if (res.status === 412) throw new OcitrustError('REGISTRY_CONFLICT', `${what}: precondition failed (412)${detail}`);
    if (res.status === 502 || res.status === 503 || res.status === 504) {
      throw new OcitrustError('REGISTRY_RATE_LIMITED', `${what}: registry unavailable (${res.status}) after retries${detail}`);
    }
    throw new OcitrustError('REGISTRY_ERROR', `${what}: unexpected status ${res.status}${detail}`, { details: { status: res.status, codes } });
  }

  async getManifest(repo: RepositoryRef, reference: string): Promise<FetchedManifest> {
    const byDigest = isDigest(reference);
    const what = `manifest ${repo.registry}/${repo.path}${byDigest ? '@' : ':'}${reference}`;
    const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull'])], {
      method: 'GET',
      url: this.#url(repo, `manifests/${reference}`),
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    });
    if (res.status !== 200) return this.#fail(res, what);
    const ct = res.contentType;
    if (ct !== undefined && ct !== 'application/json' && !MANIFEST_MEDIA_TYPES.includes(ct)) {
      await res.discard();
      throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: unexpected Content-Type ${JSON.stringify(sanitize(ct, 80))}`);
    }
    const bytes = await res.bytes(this.#limits.maxManifestBytes);
    let digest: string;
    if (byDigest) {
      const { algorithm } = parseDigest(reference);
      digest = digestOf(bytes, algorithm);
      if (digest !== reference) {
        throw new OcitrustError('MANIFEST_DIGEST_MISMATCH', `${what}: the registry returned bytes with digest ${digest}`);
      }
    } else {
      digest = digestOf(bytes);
    }
    const manifest = parseServed(what, 'a JSON image manifest or index', bytes, () => parseManifest(bytes, { contentType: ct, maxBytes: this.#limits.maxManifestBytes, what }));
    const etag = res.headers.get('etag') ?? undefined;
    return {
      bytes,
      digest,
      size: bytes.length,
      mediaType: manifestMediaType(manifest),
      manifest,
      ...(etag ? { etag } : {}),
    };
  }

  async headManifest(repo: RepositoryRef, reference: string): Promise<ManifestInfo | undefined> {
    const what = `manifest ${repo.registry}/${repo.path}:${reference}`;
    const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull'])], {
      method: 'HEAD',
      url: this.#url(repo, `manifests/${reference}`),
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    });
    await res.discard();
    if (res.status === 404) return undefined;
    if (res.status !== 200) return this.#fail(res, what);
    const claimed = res.headers.get('docker-content-digest');
    const size = res.contentLength;
    return {
      ...(size !== undefined ? { size } : {}),
      ...(res.contentType ? { mediaType: res.contentType } : {}),
      ...(claimed && isDigest(claimed) ? { claimedDigest: claimed } : {}),
    };
  }

  async putManifest(
    repo: RepositoryRef,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    opts: { ifMatch?: string } = {},
  ): Promise<PutManifestResult> {
    const what = `PUT manifest ${repo.registry}/${repo.path}:${reference}`;
    if (bytes.length > this.#limits.maxManifestBytes) {
      throw new OcitrustError('INPUT_TOO_LARGE', `${what}: ${bytes.length} bytes exceeds ${this.#limits.maxManifestBytes}`);
    }
    const digest = isDigest(reference) ? digestOf(bytes, parseDigest(reference).algorithm) : digestOf(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new OcitrustError('INVALID_ARGUMENT', `${what}: bytes hash to ${digest}, not to the reference`);
    }
    // Never push junk, and keep Content-Type equal to the document's mediaType (distribution
    // 2.8 insists on it).
    const declared = manifestMediaType(parseManifest(bytes, { contentType: mediaType, maxBytes: this.#limits.maxManifestBytes, what }));
    if (declared !== mediaType) {
      throw new OcitrustError('INVALID_ARGUMENT', `${what}: Content-Type ${mediaType} differs from the document's mediaType ${declared}`);
    }
    const headers: Record<string, string> = { 'content-type': mediaType };
    if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
    const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull', 'push'])], {
      method: 'PUT',
      url: this.#url(repo, `manifests/${reference}`),
      headers,
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) return this.#fail(res, what);
    await res.discard();
    const claimed = res.headers.get('docker-content-digest');
    const sha = digestOf(bytes);
    if (claimed && claimed.startsWith('sha256:') && claimed !== sha) {
      throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: registry says it stored ${sanitize(claimed, 80)}, the bytes sent hash to ${sha}`);
    }
    const subject = res.headers.get('oci-subject');
    return { digest, ...(subject && isDigest(subject) ? { ociSubject: subject } : {}) };
  }

  async deleteManifest(repo: RepositoryRef, digest: string): Promise<boolean> {
    parseDigest(digest);
    const what = `DELETE manifest ${repo.registry}/${repo.path}@${digest}`;
    const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['delete'])], {
      method: 'DELETE',
      url: this.#url(repo, `manifests/${digest}`),
    });
    if (res.status === 202 || res.status === 200 || res.status === 204) {
      await res.discard();
      return true;
    }
    if (res.status === 404) {
      await res.discard();
      return false;
    }
    return this.#fail(res, what);
  }

  /**
   * Streams a blob, hashing as it goes; the final chunk is followed by the digest check,
   * which throws BLOB_DIGEST_MISMATCH / BLOB_SIZE_MISMATCH. Consumers must not act on the
   * data before the iteration has completed.
   *
   * @throws OcitrustError BLOB_NOT_FOUND, BLOB_DIGEST_MISMATCH, BLOB_SIZE_MISMATCH, REGISTRY_RESPONSE_TOO_LARGE, REGISTRY_*
   */
  async *blobStream(repo: RepositoryRef, digest: string, opts: { size?: number; maxBytes?: number } = {}): AsyncGenerator<Uint8Array, void, undefined> {
    const { algorithm, hex } = parseDigest(digest);
    const what = `blob ${repo.registry}/${repo.path}@${digest}`;
    const limit = Math.min(opts.maxBytes ?? Number.MAX_SAFE_INTEGER, opts.size ?? Number.MAX_SAFE_INTEGER);
    const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull'])], {
      method: 'GET',
      url: this.#url(repo, `blobs/${digest}`),
    });
    if (res.status !== 200) await this.#fail(res, what, 'BLOB_NOT_FOUND');
    const declared = res.contentLength;
    if (opts.size !== undefined && declared !== undefined && declared !== opts.size) {
      await res.discard();
      throw new OcitrustError('BLOB_SIZE_MISMATCH', `${what}: Content-Length ${declared}, descriptor size ${opts.size}`);
    }
    const h = createHash(algorithm);
    let total = 0;
    try {
      for await (const c of res.chunks(limit)) {
        h.update(c);
        total += c.byteLength;
        yield c;
      }
    } catch (e) {
      if (e instanceof OcitrustError && e.code === 'REGISTRY_RESPONSE_TOO_LARGE' && opts.size !== undefined && limit === opts.size) {
        throw new OcitrustError('BLOB_SIZE_MISMATCH', `${what}: longer than its descriptor size ${opts.size}`, { cause: e });
      }
      throw e;
    }
    if (opts.size !== undefined && total !== opts.size) {
      throw new OcitrustError('BLOB_SIZE_MISMATCH', `${what}: ${total} bytes, descriptor size ${opts.size}`);
    }
    if (h.digest('hex') !== hex) throw new OcitrustError('BLOB_DIGEST_MISMATCH', `${what}: content does not match its digest`);
  }

  async getBlob(repo: RepositoryRef, digest: string, opts: { size?: number; maxBytes?: number } = {}): Promise<Uint8Array> {
    const maxBytes = opts.maxBytes ?? this.#limits.maxBufferedBlobBytes;
    if (opts.size !== undefined && opts.size > maxBytes) {
      throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', `blob ${digest}: descriptor size ${opts.size} exceeds the limit of ${maxBytes}`);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const c of this.blobStream(repo, digest, { ...opts, maxBytes })) {
      parts.push(c);
      total += c.byteLength;
    }
    return new Uint8Array(Buffer.concat(parts, total));
  }

  async headBlob(repo: RepositoryRef, digest: string): Promise<number | undefined> {
    parseDigest(digest);
    const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull'])], {
      method: 'HEAD',
      url: this.#url(repo, `blobs/${digest}`),
    });
    await res.discard();
    if (res.status === 404) return undefined;
    if (res.status !== 200) return this.#fail(res, `blob ${repo.registry}/${repo.path}@${digest}`, 'BLOB_NOT_FOUND');
    return res.contentLength ?? 0;
  }

  /**
   * Mounts a blob from another repository of the same registry (spec "Mounting a blob from
   * another repository"). True when mounted; false when the registry declined (the upload
   * session it opened instead is cancelled).
   */
  async mountBlob(repo: RepositoryRef, from: string, digest: string): Promise<boolean> {
    const r = await this.#startUpload(repo, { mount: digest, from });
    if (r.mounted) return true;
    await this.#cancelUpload(repo, r.location);
    return false;
  }

  async #startUpload(repo: RepositoryRef, mount?: { mount: string; from: string }): Promise<{ mounted: true } | { mounted: false; location: string }> {
    const what = `blob upload ${repo.registry}/${repo.path}`;
    const scopes = [repositoryScope(repo.path, ['pull', 'push'])];
    let url = this.#url(repo, 'blobs/uploads/');
    if (mount) {
      parseDigest(mount.mount);
      url += `?mount=${encodeURIComponent(mount.mount)}&from=${encodeURIComponent(mount.from)}`;
      scopes.push(repositoryScope(mount.from, ['pull']));
    }
    const res = await this.#send(repo.registry, scopes, { method: 'POST', url, headers: { 'content-length': '0' } });
    if (mount && res.status === 201) {
      await res.discard();
      return { mounted: true };
    }
    if (res.status !== 202) return this.#fail(res, what, 'BLOB_NOT_FOUND');
    await res.discard();
    return { mounted: false, location: this.#location(res, what) };
  }

  #location(res: HttpResponse, what: string): string {
    const loc = res.headers.get('location');
    if (!loc) throw new OcitrustError('BLOB_UPLOAD_FAILED', `${what}: no Location in the answer`);
    try {
      const u = new URL(loc, res.url || undefined);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      return u.toString();
    } catch (e) {
      throw new OcitrustError('BLOB_UPLOAD_FAILED', `${what}: Location is not an http(s) URL`, { cause: e });
    }
  }

  async #cancelUpload(repo: RepositoryRef, location: string): Promise<void> {
    try {
      const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull', 'push'])], { method: 'DELETE', url: location });
      await res.discard();
    } catch {
      // Best effort: an abandoned session is purged by the registry.
    }
  }

  async pushBlob(repo: RepositoryRef, bytes: Uint8Array, opts: { mountFrom?: string; chunkSize?: number; fresh?: boolean } = {}): Promise<PushBlobResult> {
    const digest = digestOf(bytes);
    const size = bytes.length;
    const known = `${repo.registry}/${repo.path}@${digest}`;
    // Blobs are not deleted under a client's feet in practice; if one were, the manifest PUT
    // naming it fails with a clear error (the registry checks references), never silently.
    if (!opts.fresh && this.#knownBlobs.has(known)) return { digest, size, how: 'exists' };
    const r = await this.#pushBlob(repo, bytes, digest, opts);
    if (this.#knownBlobs.size >= 4096) this.#knownBlobs.clear();
    this.#knownBlobs.add(known);
    return r;
  }

  async #pushBlob(repo: RepositoryRef, bytes: Uint8Array, digest: string, opts: { mountFrom?: string; chunkSize?: number; fresh?: boolean }): Promise<PushBlobResult> {
    const size = bytes.length;
    const what = `blob upload ${repo.registry}/${repo.path}@${digest}`;
    let present: number | undefined;
    try {
      if (!opts.fresh) present = await this.headBlob(repo, digest);
    } catch (e) {
      // distribution answers 500 to a HEAD while another writer commits the same blob (its
      // filesystem driver is not atomic); uploading content-addressed bytes again is harmless.
      if (!isOcitrustError(e, 'REGISTRY_ERROR')) throw e;
    }
    if (present !== undefined) return { digest, size, how: 'exists' };
    const start = await this.#startUpload(repo, opts.mountFrom ? { mount: digest, from: opts.mountFrom } : undefined);
    if (start.mounted) return { digest, size, how: 'mounted' };
    let location = start.location;
    const scopes = [repositoryScope(repo.path, ['pull', 'push'])];
    const withDigest = (loc: string): string => `${loc}${loc.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    try {
      if (opts.chunkSize !== undefined && opts.chunkSize > 0 && size > opts.chunkSize) {
        // Chunked upload (spec "Pushing a blob in chunks"): PATCH each range in order.
        for (let off = 0; off < size; off += opts.chunkSize) {
          const chunk = bytes.subarray(off, Math.min(size, off + opts.chunkSize));
          const res = await this.#send(repo.registry, scopes, {
            method: 'PATCH',
            url: location,
            headers: {
              'content-type': 'application/octet-stream',
              'content-range': `${off}-${off + chunk.length - 1}`,
              'content-length': String(chunk.length),
            },
            body: chunk,
          });
          if (res.status !== 202) {
            const { text } = await errorDetail(res);
            throw new OcitrustError('BLOB_UPLOAD_FAILED', `${what}: chunk at ${off} refused (${res.status})${text ? `: ${text}` : ''}`);
          }
          location = this.#location(res, what);
        }
        const fin = await this.#send(repo.registry, scopes, { method: 'PUT', url: withDigest(location), headers: { 'content-length': '0' } });
        if (fin.status !== 201) {
          const { text } = await errorDetail(fin);
          throw new OcitrustError('BLOB_UPLOAD_FAILED', `${what}: final PUT refused (${fin.status})${text ? `: ${text}` : ''}`);
        }
        await fin.discard();
      } else {
        const res = await this.#send(repo.registry, scopes, {
          method: 'PUT',
          url: withDigest(location),
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          body: bytes,
        });
        if (res.status >= 500) {
          // The same race as above, on commit: another writer's copy of these bytes is as good.
          await res.discard();
          if ((await this.headBlob(repo, digest).catch(() => undefined)) === size) return { digest, size, how: 'exists' };
          throw new OcitrustError('BLOB_UPLOAD_FAILED', `${what}: PUT refused (${res.status})`);
        }
        if (res.status !== 201) {
          const { text } = await errorDetail(res);
          throw new OcitrustError('BLOB_UPLOAD_FAILED', `${what}: PUT refused (${res.status})${text ? `: ${text}` : ''}`);
        }
        await res.discard();
      }
    } catch (e) {
      await this.#cancelUpload(repo, location);
      throw e;
    }
    return { digest, size, how: 'uploaded' };
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    const what = `tags of ${repo.registry}/${repo.path}`;
    const seen = new Set<string>();
    let url: string | undefined = this.#url(repo, 'tags/list?n=1000');
    const origin = new URL(this.baseUrl(repo.registry)).origin;
    for (let page = 0; url !== undefined; page++) {
      if (page >= this.#maxTagPages) throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: more than ${this.#maxTagPages} pages`);
      const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull'])], { method: 'GET', url });
      if (res.status === 404) {
        await res.discard();
        return [];
      }
      if (res.status !== 200) return this.#fail(res, what);
      const bytes = await res.bytes(this.#maxTagPageBytes);
      let doc: unknown;
      try {
        doc = parseJson(bytes, { maxBytes: this.#maxTagPageBytes, what });
      } catch (e) {
        throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: not JSON`, { cause: e });
      }
      if (!isJsonObject(doc) || (doc.tags !== null && doc.tags !== undefined && !Array.isArray(doc.tags))) {
        throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: expected {"tags": [...]}`);
      }
      const before = seen.size;
      for (const t of (doc.tags as unknown[] | null | undefined) ?? []) {
        if (typeof t !== 'string') throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: a tag is not a string`);
        seen.add(t);
      }
      if (seen.size > MAX_TAGS) throw new OcitrustError('REGISTRY_RESPONSE_TOO_LARGE', `${what}: more than ${MAX_TAGS} tags`);
      const next = nextLink(res.headers.get('link'));
      // A registry that ignores `last` keeps returning the same page: stop when nothing is new.
      if (next === undefined || seen.size === before) break;
      const u: URL = new URL(next, url);
      if (u.origin !== origin) throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: pagination link leaves the registry`);
      url = u.toString();
    }
    return [...seen];
  }

  async getReferrers(repo: RepositoryRef, digest: string, opts: { artifactType?: string; fresh?: boolean } = {}): Promise<ReferrersResult> {
    parseDigest(digest);
    const known = this.#noReferrersApi.get(repo.registry);
    if (known !== undefined && !opts.fresh && Date.now() < known) return { supported: false };
    const what = `referrers of ${repo.registry}/${repo.path}@${digest}`;
    const origin = new URL(this.baseUrl(repo.registry)).origin;
    let url: string | undefined = this.#url(repo, `referrers/${digest}`);
    if (opts.artifactType) url += `?artifactType=${encodeURIComponent(opts.artifactType)}`;
    const manifests: Descriptor[] = [];
    const seen = new Set<string>();
    let filtersApplied = true;
    for (let page = 0; url !== undefined; page++) {
      if (page >= this.#limits.maxReferrersPages) {
        throw new OcitrustError('REFERRERS_TOO_MANY', `${what}: more than ${this.#limits.maxReferrersPages} pages`);
      }
      const res = await this.#send(repo.registry, [repositoryScope(repo.path, ['pull'])], {
        method: 'GET',
        url,
        headers: { accept: OCI_INDEX },
      });
      // Spec "Listing Referrers": a registry supporting the API MUST NOT answer 404.
      if (res.status === 404 && page === 0) {
        await res.discard();
        if (this.#capabilityTtlMs > 0) this.#noReferrersApi.set(repo.registry, Date.now() + this.#capabilityTtlMs);
        return { supported: false };
      }
      if (page === 0) this.#noReferrersApi.delete(repo.registry);
      if (res.status !== 200) return this.#fail(res, what);
      const ct = res.contentType;
      if (ct !== undefined && ct !== OCI_INDEX && ct !== 'application/json') {
        await res.discard();
        throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: unexpected Content-Type ${JSON.stringify(sanitize(ct, 80))}`);
      }
      const applied = (res.headers.get('oci-filters-applied') ?? '').split(',').map((s) => s.trim());
      if (!applied.includes('artifactType')) filtersApplied = false;
      const bytes = await res.bytes(this.#limits.maxReferrersBytes);
      const index = parseServed(what, 'an OCI image index listing the referrers', bytes, () => parseImageIndex(bytes, { contentType: OCI_INDEX, maxBytes: this.#limits.maxReferrersBytes, what }));
      for (const d of index.manifests) {
        if (seen.has(d.digest)) continue;
        seen.add(d.digest);
        manifests.push(d);
        if (manifests.length > this.#limits.maxSignatures * 16) {
          throw new OcitrustError('REFERRERS_TOO_MANY', `${what}: more than ${this.#limits.maxSignatures * 16} referrers`);
        }
      }
      const next = nextLink(res.headers.get('link'));
      if (next === undefined) break;
      const u: URL = new URL(next, url);
      if (u.origin !== origin) throw new OcitrustError('REGISTRY_BAD_RESPONSE', `${what}: pagination link leaves the registry`);
      url = u.toString();
    }
    // Filtering is only a SHOULD for registries: re-filter when they did not say they did.
    const filtered =
      opts.artifactType && !filtersApplied ? manifests.filter((d) => d.artifactType === opts.artifactType) : manifests;
    return { supported: true, manifests: filtered, filtersApplied: !!opts.artifactType && filtersApplied };
  }
}

/**
 * Resolves a reference to its manifest (DESIGN §5 step 2): by digest when the reference has
 * one (the bytes must hash to it), else by tag (`latest` when neither is given); the digest
 * is always computed from the bytes. Tags are mutable: verify the returned digest, not the tag.
 *
 * @throws OcitrustError MANIFEST_NOT_FOUND, MANIFEST_DIGEST_MISMATCH, MANIFEST_UNSUPPORTED, REGISTRY_BAD_RESPONSE, REGISTRY_*
 * @example const { digest } = await resolveManifest(client, parseReference('nginx:1.25'));
 */
export async function resolveManifest(
  client: RegistryClient,
  ref: RepositoryRef & { readonly tag?: string; readonly digest?: string },
): Promise<FetchedManifest> {
  if (typeof client?.getManifest !== 'function') throw new OcitrustError('INVALID_ARGUMENT', `client: expected a RegistryClient, got ${describe(client)}`);
  if (typeof ref !== 'object' || ref === null) throw new OcitrustError('INVALID_ARGUMENT', `ref: expected a reference {registry, path, tag?, digest?}, got ${describe(ref)}`);
  return client.getManifest(ref, ref.digest ?? ref.tag ?? 'latest');
}
