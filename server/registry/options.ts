import type { FastifyRequest } from 'fastify';
import { assertArg } from '../../lib/errors/index.js';
import { isRegistryName } from '../names.js';
import type { Db, Queryable } from '../storage/index.js';

/** What a request wants to do to a repository. */
export type RegistryAction = 'pull' | 'push' | 'delete';

/** The access an {@link AuthorizeHook} decides on. */
export interface AccessRequest {
  /** The repository, or null for registry-wide endpoints (`GET /v2/`, `/v2/_catalog`). */
  readonly repository: string | null;
  readonly action: RegistryAction;
  /**
   * The collection-qualified name of the repository (`<registry name>/<repository>`, see
   * qualifiedRepository in server/names.ts) that token patterns are matched against; null for
   * registry-wide endpoints and when the registry's name is unknown (not configured, and the
   * listener address is not IPv4).
   */
  readonly name: string | null;
}

/**
 * An authorization answer: `true`/`{allow: true}` lets the request through; `false` is 403
 * DENIED; an object can ask for 401 UNAUTHORIZED with a `WWW-Authenticate` challenge.
 */
export type AccessDecision =
  | boolean
  | { readonly allow: true }
  | { readonly allow: false; readonly status?: 401 | 403; readonly message?: string; readonly wwwAuthenticate?: string };

/**
 * Decides whether `request` may do `access`. Called before every operation (for a cross-repo
 * mount also with `{repository: from, action: 'pull'}`; a refusal there only disables the
 * mount). May also throw an OcitrustError: its HTTP status picks the OCI code (401
 * UNAUTHORIZED, 403 DENIED, 429 TOOMANYREQUESTS…), `details.headers` become response headers.
 */
export type AuthorizeHook = (request: FastifyRequest, access: AccessRequest) => AccessDecision | Promise<AccessDecision>;

/** What the registry knows about a manifest about to be served. */
export interface ManifestInfo {
  readonly mediaType: string;
  readonly size: number;
  /** `artifactType`, else the config media type (image manifests); absent for a plain index. */
  readonly artifactType?: string;
  /** Digest of the manifest's `subject`, if any (signatures and other referrers have one). */
  readonly subject?: string;
}

/** A pull-gate answer: `true`/`{allow: true}` serves the manifest; otherwise 403 DENIED with the reason. */
export type GateDecision =
  | boolean
  | { readonly allow: true }
  /** A refusal; `code` (a catalogue code) reaches the client in the error's `detail`, as the proxy gives it. */
  | { readonly allow: false; readonly reason: string; readonly code?: string };

/**
 * Called before a manifest GET or HEAD is answered, with the resolved digest: the trust
 * server's pull enforcement (DESIGN §9) plugs in here. `reference` is the tag or digest the
 * client asked for.
 */
export type ManifestGate = (
  repository: string,
  reference: string,
  digest: string,
  info: ManifestInfo,
  /** The pull request itself (its authenticated principal: signing tools must read what they sign). */
  request?: FastifyRequest,
) => GateDecision | Promise<GateDecision>;

/** Bounds of the embedded registry. */
export interface RegistryLimits {
  /** Largest manifest accepted (bytes); the spec says registries should take at least 4 MiB. */
  readonly maxManifestBytes: number;
  /** Largest blob accepted (bytes). */
  readonly maxBlobBytes: number;
  /** Most upload sessions open at once (429 beyond). */
  readonly maxOpenUploads: number;
  /** Unfinished uploads older than this are deleted (ms). */
  readonly uploadTtlMs: number;
  /** Largest page of tags or repositories (a bigger or absent `n` gets this many and a Link). */
  readonly maxPageSize: number;
  /** Most descriptors in one referrers page. */
  readonly referrersPageSize: number;
  /** Largest referrers page body (bytes), so annotation-heavy pages stay readable by clients. */
  readonly referrersPageBytes: number;
}

/** Defaults of {@link RegistryLimits}. */
export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = Object.freeze({
  maxManifestBytes: 4 * 1024 * 1024,
  maxBlobBytes: 10 * 1024 * 1024 * 1024,
  maxOpenUploads: 1000,
  uploadTtlMs: 24 * 60 * 60 * 1000,
  maxPageSize: 1000,
  referrersPageSize: 1000,
  referrersPageBytes: 4 * 1024 * 1024,
});

/** Options of the embedded registry plugin. */
export interface RegistryOptions {
  /** Directory for blobs (`blobs/<alg>/<2 hex>/<hex>`) and unfinished uploads (`uploads/`). */
  readonly dataDir: string;
  /** The database for manifests, tags, referrers and upload sessions (migrated on register). */
  readonly db: Db;
  /** Access control; default: everything allowed. */
  readonly authorize?: AuthorizeHook;
  /** Pull enforcement on manifest GET/HEAD; default: everything served. */
  readonly beforeManifestGet?: ManifestGate;
  /** Overrides of {@link DEFAULT_REGISTRY_LIMITS}. */
  readonly limits?: Partial<RegistryLimits>;
  /** Whether DELETE of manifests, tags and blobs is allowed (default true; false → 405 UNSUPPORTED). */
  readonly allowDelete?: boolean;
  /**
   * The host[:port] under which image references and trust data name this registry's
   * repositories (its public address, e.g. `registry.example.com`): repository `team/app` is
   * `<registryName>/team/app` for token patterns. Default: the IPv4 address and port the request
   * arrived on (the listener's, e.g. `127.0.0.1:7443`). Never taken from the request's Host header.
   */
  readonly registryName?: string;
  /** Called inside the transaction that stores a manifest new to its repository (webhook events). */
  readonly onManifestStored?: ManifestStoredHook;
}

/** See {@link RegistryOptions.onManifestStored}. */
export type ManifestStoredHook = (tx: Queryable, m: { repository: string; digest: string; artifactType: string | undefined; subject: string | undefined; annotations: Readonly<Record<string, string>> | undefined; tag: string | undefined }) => Promise<void>;

/** Options after defaults. */
export interface ResolvedOptions {
  readonly dataDir: string;
  readonly db: Db;
  readonly authorize: AuthorizeHook | undefined;
  readonly beforeManifestGet: ManifestGate | undefined;
  readonly limits: RegistryLimits;
  readonly allowDelete: boolean;
  readonly registryName: string | undefined;
  readonly onManifestStored: ManifestStoredHook | undefined;
}

/**
 * Checks and completes the options once, at register time.
 * @throws OcitrustError INVALID_ARGUMENT
 */
export function resolveOptions(o: RegistryOptions): ResolvedOptions {
  assertArg(o && typeof o === 'object', 'registry options', 'an object', o);
  assertArg(typeof o.dataDir === 'string' && o.dataDir.length > 0, 'registry dataDir', 'a directory path', o.dataDir);
  assertArg(o.db && typeof o.db.query === 'function' && typeof o.db.transaction === 'function', 'registry db', 'an open Db (openDb)', o.db);
  assertArg(o.authorize === undefined || typeof o.authorize === 'function', 'registry authorize', 'a function', o.authorize);
  assertArg(o.beforeManifestGet === undefined || typeof o.beforeManifestGet === 'function', 'registry beforeManifestGet', 'a function', o.beforeManifestGet);
  assertArg(o.registryName === undefined || isRegistryName(o.registryName), 'registry registryName', 'a lowercase registry host[:port], e.g. registry.example.com:5000', o.registryName);
  const limits = { ...DEFAULT_REGISTRY_LIMITS, ...(o.limits ?? {}) };
  for (const [k, v] of Object.entries(limits)) {
    assertArg(Number.isSafeInteger(v) && v > 0, `registry limits.${k}`, 'a positive integer', v);
  }
  return {
    dataDir: o.dataDir,
    db: o.db,
    authorize: o.authorize,
    beforeManifestGet: o.beforeManifestGet,
    limits: Object.freeze(limits),
    allowDelete: o.allowDelete ?? true,
    registryName: o.registryName,
    onManifestStored: o.onManifestStored,
  };
}
