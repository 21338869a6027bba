/**
 * Collection administration (DESIGN §3, §6): create a collection, manage signer delegations,
 * revoke signatures, rotate root and targets keys. Every change is a new signed targets (or
 * root) version built on the current trusted one and published to the trust server; root
 * and targets keys never leave this machine.
 */
import { sha256Hex } from '../crypto/hash.js';
import { OcitrustError, assertArg, isOcitrustError } from '../errors/index.js';
import { assertClock } from '../clock.js';
import { formatTime, systemClock, type Clock } from '../clock.js';
import type { Limits } from '../config.js';
import { digestOf, isDigest, parseDigest } from '../crypto/hash.js';
import type { PublicKey } from '../keys/key.js';
import type { KeyStore, NewKey } from '../keys/keystore.js';
import type { Signer } from '../keys/signer.js';
import { Metadata } from '../metadata/metadata.js';
import type { Signed } from '../metadata/signed.js';
import type { Targets } from '../metadata/targets.js';
import { bumpVersion, newRoot, newTargets } from '../metadata/builders.js';
import { RELEASES_ROLE, roleNameKey, type DelegatedRole } from '../metadata/role.js';
import { parseReference, referenceArg, type ImageReference } from '../reference.js';
import type { RegistryClient } from '../oci/client.js';
import { listSignatures, removeReferrer } from '../oci/referrers.js';
import { collectEnvelopes } from '../oci/signature-artifact.js';
import { parseEnvelope, type Envelope } from '../statements/dsse.js';
import { parseStatement } from '../statements/statement.js';
import { signatureIds, type SignatureId } from '../verify/signature-id.js';
import type { TrustServerClient } from '../trust-client.js';
import type { OcitrustHome } from './home.js';
import { collectionSlug, loadLocalSigners, openKey, useOrGenerateKey, type PassphraseProvider } from './keys.js';
import { openCollection, pinRoot, type CollectionTrust } from './trust.js';
import { changeBase, retryOnVersionConflict, type PublishRetryOptions } from './publish-retry.js';

/** The role `trust signer add` also adds keys to (defined with the role-name rules in lib/metadata/role.ts). */
export { RELEASES_ROLE };

/** What the administration use cases need. */
export interface AdminContext {
  readonly home: OcitrustHome;
  readonly keys: KeyStore;
  /** The trust server's write API (its base URL is also where metadata is read from). */
  readonly server: TrustServerClient;
  /** Bearer token for reads from servers that refuse anonymous reads (writes use the client's). */
  readonly token?: string;
  /** Where the token came from, named when the server refuses it. */
  readonly tokenSource?: string;
  readonly passphrase: PassphraseProvider;
  readonly clock?: Clock;
  readonly limits?: Limits;
  readonly fetch?: typeof fetch;
}

/** Default delegation paths of a repository: every tag and every digest of it, nothing else. */
export function defaultSignerPaths(repository: string): string[] {
  return [`${repository}:*`, `${repository}@*`];
}

/**
 * Door check of the administrator use cases (issue 12 item 4): a missing or ill-typed context,
 * options object, collection name or clock is INVALID_ARGUMENT naming it, never a TypeError
 * from deep inside.
 */
function checkAdmin(ctx: unknown, o: unknown, collection?: unknown): void {
  assertArg(typeof ctx === 'object' && ctx !== null, 'ctx', 'AdminContext object', ctx);
  const c = ctx as Partial<AdminContext>;
  if (c.clock !== undefined) assertClock(c.clock, 'ctx.clock');
  if (o !== NO_OPTIONS) assertArg(typeof o === 'object' && o !== null && !Array.isArray(o), 'options', 'options object', o);
  if (collection !== NO_OPTIONS) assertArg(typeof collection === 'string' && collection.length > 0, 'collection', 'non-empty collection name', collection);
}

/** Marks an argument {@link checkAdmin} is not given. */
const NO_OPTIONS = Symbol('none');

function open(ctx: AdminContext, collection: string, online = true): Promise<CollectionTrust> {
  return openCollection({
    home: ctx.home,
    collection,
    server: ctx.server.baseUrl,
    online,
    ...(ctx.token ? { token: ctx.token, ...(ctx.tokenSource ? { tokenSource: ctx.tokenSource } : {}) } : {}),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
    ...(ctx.limits ? { limits: ctx.limits } : {}),
    ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
  });
}

async function signAll<T extends Signed>(signed: T, signers: readonly Signer[]): Promise<Metadata<T>> {
  let md = new Metadata(signed);
  for (const s of signers) md = await md.sign(s);
  return md;
}

/** Result of {@link initCollection}. */
export interface InitResult {
  readonly collection: string;
  readonly rootKey: { readonly name: string; readonly keyid: string; readonly generated: boolean };
  readonly targetsKey: { readonly name: string; readonly keyid: string; readonly generated: boolean };
  readonly serverKeys: { readonly snapshot: string; readonly timestamp: string };
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
  /** `sha256:<hex>` of the root pinned in the home: what others compare before pinning it (`trust root export`). */
  readonly rootFingerprint: string;
  /** Generated keys (their public PEMs), for the caller to show or save. */
  readonly generated: readonly NewKey[];
}

/**
 * Creates a collection (`trust init`): takes or generates the root key (default name `root`,
 * shared by collections as `docker trust` does) and the targets key (default
 * `targets-<slug>`), fetches the server's snapshot and timestamp keys, builds root v1 and
 * targets v1 and publishes them together; the new root is pinned locally.
 *
 * @throws COLLECTION_EXISTS when the collection already has metadata, AUTH_*, PERMISSION_DENIED,
 *   PUBLISH_*, TRUST_SERVER_*, KEY_*, KEYFILE_*
 */
export async function initCollection(
  ctx: AdminContext,
  o: {
    collection: string;
    rootKey?: string;
    targetsKey?: string;
    /** Edits targets v1 before it is signed (delegations published with the collection in one step: `trust import-notary`). */
    targets?: (t: Targets) => Targets;
  },
): Promise<InitResult> {
  checkAdmin(ctx, o, o?.collection);
  const clock = ctx.clock ?? systemClock;
  const rootName = o.rootKey ?? 'root';
  const targetsName = o.targetsKey ?? `targets-${collectionSlug(o.collection)}`;
  // The server is asked first, so that a refused or duplicate collection generates no keys.
  let info;
  try {
    info = await ctx.server.createCollection(o.collection);
  } catch (e) {
    if (!isOcitrustError(e, 'COLLECTION_EXISTS')) throw e;
    info = await ctx.server.collectionInfo(o.collection);
  }
  if (info.versions.root > 0) {
    throw new OcitrustError('COLLECTION_EXISTS', `${o.collection} is already initialized on ${ctx.server.baseUrl} (root version ${info.versions.root}); use \`trust signer add\` or \`trust key rotate\``);
  }
  const rootKey = await useOrGenerateKey(ctx.keys, rootName, 'root', ctx.passphrase);
  const targetsKey = await useOrGenerateKey(ctx.keys, targetsName, 'targets', ctx.passphrase);
  const rootSigner = await openKey(ctx.keys, rootKey.entry, 'root', ctx.passphrase);
  const targetsSigner = await openKey(ctx.keys, targetsKey.entry, 'targets', ctx.passphrase);
  const root = await signAll(
    newRoot({
      clock,
      keys: { root: [rootSigner.publicKey], targets: [targetsSigner.publicKey], snapshot: [info.keys.snapshot], timestamp: [info.keys.timestamp] },
    }),
    [rootSigner],
  );
  const targets = await signAll(o.targets ? o.targets(newTargets({ clock })) : newTargets({ clock }), [targetsSigner]);
  const published = await ctx.server.publish(o.collection, { root: root.toJSON(), targets: targets.toJSON() });
  // We built this root ourselves: pin it (not TOFU), then load the server's state into the cache.
  await pinRoot(ctx.home, o.collection, root.toBytes(), 'init', ctx.server.baseUrl, clock);
  await open(ctx, o.collection);
  return {
    collection: o.collection,
    rootKey: { name: rootKey.entry.name, keyid: rootSigner.keyid, generated: !!rootKey.generated },
    targetsKey: { name: targetsKey.entry.name, keyid: targetsSigner.keyid, generated: !!targetsKey.generated },
    serverKeys: { snapshot: info.keys.snapshot.keyid, timestamp: info.keys.timestamp.keyid },
    versions: published.versions,
    rootFingerprint: `sha256:${sha256Hex(root.toBytes())}`,
    generated: [rootKey.generated, targetsKey.generated].filter((k): k is NewKey => k !== undefined),
  };
}

/** Result of a published targets change. */
export interface TargetsChangeResult {
  readonly collection: string;
  /** The new targets version. */
  readonly version: number;
  readonly trust: CollectionTrust;
}

/** Options of {@link publishTargetsChange}. */
export interface TargetsChangeOptions extends PublishRetryOptions {
  /**
   * The part of the targets metadata the change is based on (e.g. the signer it edits), with
   * `what` naming it. Read on the first attempt; when a retry finds it changed by another
   * publisher, the command stops with PUBLISH_CHANGE_CONFLICT instead of overwriting it.
   * Without it every retry re-applies the change (changes that only add, such as revocations).
   */
  readonly watch?: { readonly what: string; readonly of: (current: Targets) => unknown };
}

/**
 * Publishes `change(current targets)` as the next targets version, signed by the local targets
 * key(s). A lost race with another publisher (PUBLISH_VERSION_CONFLICT) re-reads the collection
 * and re-applies the change on the version that won, up to DEFAULT_PUBLISH_ATTEMPTS (32) attempts with jittered pauses
 * (lib/usecases/publish-retry.ts), so concurrent independent changes all land.
 *
 * @throws PUBLISH_CHANGE_CONFLICT when `watch` changed under the command, SIGNING_KEY_MISSING,
 *   PUBLISH_*, TRUST_SERVER_*, the TUF_* codes, and whatever `change` throws
 */
export async function publishTargetsChange(
  ctx: AdminContext,
  collection: string,
  change: (current: Targets, trust: CollectionTrust) => Targets,
  o: TargetsChangeOptions = {},
): Promise<TargetsChangeResult> {
  checkAdmin(ctx, NO_OPTIONS, collection);
  assertArg(typeof change === 'function', 'change', 'function (targets) => targets', change);
  const clock = ctx.clock ?? systemClock;
  let signers: readonly Signer[] | undefined;
  const base = o.watch ? changeBase(o.watch.what) : undefined;
  return retryOnVersionConflict(async () => {
    const trust = await open(ctx, collection);
    const root = trust.refresh.metadata.root.signed;
    const role = root.role('targets');
    signers ??= (await loadLocalSigners(ctx.keys, role.keyids, { want: role.threshold, need: role.threshold, role: 'targets', passphrase: ctx.passphrase })).signers;
    const current = trust.refresh.metadata.targets.signed;
    if (o.watch && base) base.check(o.watch.of(current));
    const changed = change(current, trust);
    if (o.watch && base) base.intend(o.watch.of(changed));
    const next = bumpVersion(changed, { clock });
    const md = await signAll(next, signers);
    const r = await ctx.server.publish(collection, { targets: md.toJSON() });
    return { collection, version: r.versions.targets, trust: await open(ctx, collection) };
  }, o);
}

/** What a change of signer `name` is based on: its delegation as it stands (null when absent). */
function signerState(name: string): (t: Targets) => unknown {
  return (t) => {
    const r = t.delegations?.role(name);
    return r ? { keyids: [...r.keyids].sort(), threshold: r.threshold, paths: [...r.paths], terminating: r.terminating } : null;
  };
}

/** Options of {@link addSigner}. */
export interface AddSignerOptions {
  readonly collection: string;
  /** The repository the default paths are made for (default: the collection name). */
  readonly repository?: string;
  readonly name: string;
  readonly keys: readonly PublicKey[];
  /** Default: the role's current threshold, else 1. */
  readonly threshold?: number;
  /** Default: the role's current paths, else {@link defaultSignerPaths}. */
  readonly paths?: readonly string[];
  /** Also add the keys to the `releases` role (default true, only when the threshold is 1). */
  readonly releases?: boolean;
}

/**
 * Adds or updates the delegation `name` (`trust signer add`): its keys become the union of the
 * current and the given ones. As `docker trust signer add` does, the keys also join the
 * `releases` role — unless the signer needs a threshold above 1 (then a single key in
 * `releases` would undercut it) or `releases: false`.
 *
 * @throws METADATA_ROLE_NAME_INVALID, METADATA_THRESHOLD_INVALID and the errors of {@link publishTargetsChange}
 */
export async function addSigner(ctx: AdminContext, o: AddSignerOptions): Promise<TargetsChangeResult & { readonly releases: boolean }> {
  checkAdmin(ctx, o, o?.collection);
  assertArg(Array.isArray(o.keys) && o.keys.length > 0, 'keys', 'at least one public key', o.keys);
  let releases = false;
  const r = await publishTargetsChange(ctx, o.collection, (t) => {
    const current = t.delegations?.role(o.name);
    const have = current ? current.keyids.map((id) => t.delegations!.keys.get(id)).filter((k): k is PublicKey => k !== undefined) : [];
    const keys = unionKeys(have, o.keys);
    const threshold = o.threshold ?? current?.threshold ?? 1;
    const paths = o.paths ?? current?.paths ?? defaultSignerPaths(o.repository ?? o.collection);
    let next = t.withDelegation({ name: o.name, keys, threshold, paths, terminating: current?.terminating ?? false });
    releases = o.releases !== false && threshold === 1 && o.name !== RELEASES_ROLE;
    if (releases) {
      const rel = next.delegations?.role(RELEASES_ROLE);
      const relKeys = rel ? rel.keyids.map((id) => next.delegations!.keys.get(id)).filter((k): k is PublicKey => k !== undefined) : [];
      next = next.withDelegation({
        name: RELEASES_ROLE,
        keys: unionKeys(relKeys, o.keys),
        threshold: rel?.threshold ?? 1,
        paths: rel?.paths ?? defaultSignerPaths(o.repository ?? o.collection),
        terminating: rel?.terminating ?? false,
      });
    }
    return next;
  }, { watch: { what: `signer ${o.name} of ${o.collection}`, of: signerState(o.name) } });
  return { ...r, releases };
}

/**
 * Removes the delegation `name` (`trust signer remove`): every signature of that role stops
 * counting (DESIGN §6). Its keys also leave `releases` unless another signer still has them.
 *
 * @throws METADATA_ROLE_NOT_FOUND and the errors of {@link publishTargetsChange}
 */
export async function removeSigner(ctx: AdminContext, o: { collection: string; name: string }): Promise<TargetsChangeResult> {
  checkAdmin(ctx, o, o?.collection);
  return publishTargetsChange(ctx, o.collection, (t) => {
    const gone = t.delegations?.role(o.name);
    let next = t.withoutDelegation(o.name);
    const rel = next.delegations?.role(RELEASES_ROLE);
    if (gone && rel && o.name !== RELEASES_ROLE) {
      const stillUsed = new Set(next.roles.filter((r) => r.name !== RELEASES_ROLE).flatMap((r) => r.keyids));
      const drop = new Set(gone.keyids.filter((id) => !stillUsed.has(id)));
      const keep = rel.keyids.filter((id) => !drop.has(id));
      if (keep.length !== rel.keyids.length) {
        if (keep.length === 0) {
          next = next.withoutDelegation(RELEASES_ROLE);
        } else {
          next = next.withDelegation({
            name: RELEASES_ROLE,
            keys: keep.map((id) => next.delegations!.keys.get(id)!),
            threshold: Math.min(rel.threshold, keep.length),
            paths: rel.paths,
            terminating: rel.terminating,
          });
        }
      }
    }
    return next;
  }, { watch: { what: `signer ${o.name} of ${o.collection}`, of: signerState(o.name) } });
}

/** Options of {@link rotateSigner} and {@link rotateSignerKeys}. */
export interface RotateSignerOptions {
  readonly collection: string;
  /** The signer (delegated role) whose keys rotate; matched regardless of case. */
  readonly name: string;
  /** The new key(s): they join the signer. */
  readonly keys: readonly PublicKey[];
  /**
   * Keyids (or unique prefixes of at least 8 characters, as `trust signer list` shows them)
   * of the signer's keys to remove. Default: every current key that is not one of `keys` —
   * the new key(s) replace the old.
   */
  readonly remove?: readonly string[];
  /** New threshold of the signer (default: its current one). */
  readonly threshold?: number;
}

/** What {@link rotateSignerKeys} changed. */
export interface SignerRotation {
  /** The role name as the metadata spells it. */
  readonly signer: string;
  readonly keyidsAdded: readonly string[];
  readonly keyidsRemoved: readonly string[];
  readonly keyids: readonly string[];
  readonly threshold: number;
  /** The same change carried to the `releases` role (keys `signer add` put there). */
  readonly releases: { readonly keyidsAdded: readonly string[]; readonly keyidsRemoved: readonly string[] };
}

/** The keyid of `role` that `want` (a keyid or a prefix of at least 8 characters) names. @throws SIGNER_KEY_NOT_FOUND */
function signerKeyid(role: { readonly name: string; readonly keyids: readonly string[] }, want: string): string {
  const w = String(want).toLowerCase();
  const hits = w.length >= 8 ? role.keyids.filter((id) => id.startsWith(w)) : [];
  if (hits.length === 1) return hits[0]!;
  const have = role.keyids.map((id) => id.slice(0, 12)).join(', ');
  throw new OcitrustError(
    'SIGNER_KEY_NOT_FOUND',
    `--remove ${JSON.stringify(String(want).slice(0, 80))}: expected a keyid (or a prefix of at least 8 characters) of exactly one key of signer ${role.name}, got ${w.length < 8 ? 'a prefix shorter than 8 characters' : `${hits.length} matches`}; its keys: ${have}`,
  );
}

/**
 * The pure part of {@link rotateSigner}: `t` with signer `o.name`'s keys rotated — the new
 * keys added, the removed ones gone — and the threshold checked against the keys that remain.
 * Keys the signer had in `releases` (as `signer add` puts them there) follow: removed keys
 * leave `releases` unless another signer still has them, and the new keys join it when a
 * removed key was in it and the threshold is 1 (a signer added with `--no-releases` stays out).
 *
 * @throws METADATA_ROLE_NOT_FOUND, SIGNER_KEY_NOT_FOUND, METADATA_THRESHOLD_INVALID (fewer keys
 *   would remain than the threshold), INVALID_ARGUMENT (nothing would change, or a key both
 *   added and removed)
 */
export function rotateSignerKeys(t: Targets, o: Omit<RotateSignerOptions, 'collection'>): { readonly targets: Targets; readonly rotation: SignerRotation } {
  assertArg(Array.isArray(o.keys) && o.keys.length > 0, 'keys', 'at least one public key', o.keys);
  assertArg(o.remove === undefined || Array.isArray(o.remove), 'remove', 'an array of keyids', o.remove);
  const role = delegatedRole(t, o.name);
  const keyOf = (id: string): PublicKey => t.delegations!.keys.get(id)!;
  const newPrints = new Set(o.keys.map((k) => k.fingerprint));
  const removed = new Set(
    o.remove === undefined ? role.keyids.filter((id) => !newPrints.has(keyOf(id).fingerprint)) : o.remove.map((w) => signerKeyid(role, w)),
  );
  for (const id of removed) {
    if (newPrints.has(keyOf(id).fingerprint)) {
      throw new OcitrustError('INVALID_ARGUMENT', `key ${id.slice(0, 12)} of signer ${role.name} is both the new key (--key) and a key to remove (--remove); expected them to differ`);
    }
  }
  const kept = role.keyids.filter((id) => !removed.has(id)).map(keyOf);
  const keys = unionKeys(kept, o.keys);
  const keptPrints = new Set(kept.map((k) => k.fingerprint));
  const added = o.keys.filter((k) => !keptPrints.has(k.fingerprint));
  if (removed.size === 0 && added.length === 0) {
    throw new OcitrustError('INVALID_ARGUMENT', `signer ${role.name} already has exactly these keys; expected a new key (--key) or a key to remove (--remove), got no change`);
  }
  const threshold = o.threshold ?? role.threshold;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > keys.length) {
    throw new OcitrustError(
      'METADATA_THRESHOLD_INVALID',
      `signer ${role.name} would keep ${keys.length} key(s) with threshold ${threshold}; expected a threshold between 1 and ${keys.length}: remove fewer keys, add more, or lower it with --threshold`,
    );
  }
  let next = t.withDelegation({ name: role.name, keys, threshold, paths: role.paths, terminating: role.terminating });
  const after = next.delegations!.role(role.name)!;
  const rel = next.delegations?.role(RELEASES_ROLE);
  let relAdded: string[] = [];
  let relRemoved: string[] = [];
  if (rel && role.name !== RELEASES_ROLE) {
    const stillUsed = new Set(next.roles.filter((r) => r.name !== RELEASES_ROLE).flatMap((r) => r.keyids));
    const relKeys = rel.keyids.map((id) => next.delegations!.keys.get(id)!);
    const inRel = new Set(relKeys.map((k) => k.fingerprint));
    // As in addSigner: a single key in releases would undercut a threshold above 1.
    const carried = threshold === 1 && [...removed].some((id) => inRel.has(keyOf(id).fingerprint));
    const keep = relKeys.filter((k) => !removed.has(k.keyid) || stillUsed.has(k.keyid));
    const joined = carried ? unionKeys(keep, added) : keep;
    relRemoved = rel.keyids.filter((id) => !joined.some((k) => k.keyid === id));
    relAdded = joined.filter((k) => !rel.keyids.includes(k.keyid)).map((k) => k.keyid);
    if (relAdded.length > 0 || relRemoved.length > 0) {
      next = joined.length === 0
        ? next.withoutDelegation(RELEASES_ROLE)
        : next.withDelegation({ name: RELEASES_ROLE, keys: joined, threshold: Math.min(rel.threshold, joined.length), paths: rel.paths, terminating: rel.terminating });
    }
  }
  return {
    targets: next,
    rotation: {
      signer: role.name,
      keyidsAdded: after.keyids.filter((id) => !role.keyids.includes(id)),
      keyidsRemoved: [...removed],
      keyids: [...after.keyids],
      threshold,
      releases: { keyidsAdded: relAdded, keyidsRemoved: relRemoved },
    },
  };
}

/**
 * Rotates the keys of a delegated signer (`trust signer rotate`, issue 19): in one published
 * targets version the new key(s) join the signer and the old one(s) leave it (and `releases`,
 * see {@link rotateSignerKeys}). From that version on, signatures by a removed key stop counting
 * (SIG_KEY_NOT_DELEGATED) and the new key's count. The trust server reports it as a
 * `key.rotated` event of the signer's role. A signer changed by another publisher meanwhile
 * stops it with PUBLISH_CHANGE_CONFLICT (as {@link addSigner}); other lost races are retried.
 *
 * @throws the errors of {@link rotateSignerKeys} and of {@link publishTargetsChange}
 */
export async function rotateSigner(ctx: AdminContext, o: RotateSignerOptions): Promise<TargetsChangeResult & { readonly rotation: SignerRotation }> {
  checkAdmin(ctx, o, o?.collection);
  assertArg(typeof o.name === 'string' && o.name.length > 0, 'name', 'a signer name', o.name);
  assertArg(Array.isArray(o.keys) && o.keys.length > 0, 'keys', 'at least one public key', o.keys);
  let rotation: SignerRotation | undefined;
  const r = await publishTargetsChange(ctx, o.collection, (t) => {
    const out = rotateSignerKeys(t, o);
    rotation = out.rotation;
    return out.targets;
  }, { watch: { what: `signer ${o.name} of ${o.collection}`, of: (t) => signerState(t.roles.find((x) => roleNameKey(x.name) === roleNameKey(o.name))?.name ?? o.name)(t) } });
  return { ...r, rotation: rotation! };
}

/** One signer as listed by {@link listSigners}. */
export interface SignerInfo {
  readonly name: string;
  readonly threshold: number;
  readonly keyids: readonly string[];
  readonly paths: readonly string[];
  readonly terminating: boolean;
  /** Keyids of this role whose private key is in the local key store. */
  readonly localKeyids: readonly string[];
}

/** The signers of a collection (`trust signer list`), from freshly verified metadata. */
export async function listSigners(
  ctx: Pick<AdminContext, 'home' | 'keys' | 'token' | 'tokenSource' | 'clock' | 'limits' | 'fetch'> & { readonly serverUrl: string; readonly root?: Uint8Array },
  collection: string,
): Promise<{ collection: string; version: number; expires: string; signers: SignerInfo[]; trust: CollectionTrust }> {
  checkAdmin(ctx, NO_OPTIONS, collection);
  const trust = await openCollection({
    home: ctx.home,
    collection,
    server: ctx.serverUrl,
    ...(ctx.root ? { root: ctx.root } : {}),
    ...(ctx.token ? { token: ctx.token, ...(ctx.tokenSource ? { tokenSource: ctx.tokenSource } : {}) } : {}),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
    ...(ctx.limits ? { limits: ctx.limits } : {}),
    ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
  });
  const local = new Set((await ctx.keys.list()).map((k) => k.keyid));
  const t = trust.refresh.metadata.targets.signed;
  return {
    collection,
    version: t.version,
    expires: t.expires,
    signers: t.roles.map((r) => ({
      name: r.name,
      threshold: r.threshold,
      keyids: [...r.keyids],
      paths: [...r.paths],
      terminating: r.terminating,
      localKeyids: r.keyids.filter((id) => local.has(id)),
    })),
    trust,
  };
}

/** Options of {@link revokeSignatures}. */
export interface RevokeOptions {
  readonly reference: string | ImageReference;
  /** Collection (default: the image's repository). */
  readonly collection?: string;
  readonly registry: RegistryClient;
  /** Only this role's signatures (it must be delegated; matched regardless of case). */
  readonly role?: string;
  /**
   * Only the signatures in the envelope with this digest (`sha256:…`, as `trust inspect` lists
   * it). The envelope is looked up among the image's referrers and each signature in it that a
   * delegated key verifies is revoked by that key and the PAE it signed (DESIGN §6) — never by
   * the envelope digest, which re-encoding the envelope would escape.
   */
  readonly envelope?: string;
  readonly reason: string;
}

/** Result of {@link revokeSignatures}. */
export interface RevokeResult extends TargetsChangeResult {
  readonly digest: string;
  /** The role the revocation is limited to, as the metadata spells it. */
  readonly role?: string;
  /** With `envelope`: the signatures revoked, by key fingerprint (and keyid) and PAE digest. */
  readonly signatures: readonly SignatureId[];
  /** Signature manifests deleted (or dropped from the fallback index). */
  readonly removed: readonly string[];
  /** Why referrers could not be deleted, when they could not (the revocation stands regardless). */
  readonly removeError?: string;
}

/**
 * Revokes signatures of an image (`trust revoke`, DESIGN §6): publishes a targets version
 * whose `revocations` names the digest (optionally a role, or the signatures of one envelope
 * by key and PAE) with a reason, then deletes the matching referrers where the registry allows
 * it. Deleting is a courtesy: an old referrer pushed again, in any encoding, stays revoked.
 *
 * @throws REFERENCE_INVALID, MANIFEST_NOT_FOUND, REGISTRY_* (resolving a tag, finding the
 *   envelope), METADATA_ROLE_NOT_FOUND, REVOKE_ENVELOPE_NOT_FOUND, REVOKE_SIGNATURE_UNVERIFIED,
 *   ENVELOPE_MALFORMED, METADATA_* and the errors of {@link publishTargetsChange}
 */
export async function revokeSignatures(ctx: AdminContext, o: RevokeOptions): Promise<RevokeResult> {
  checkAdmin(ctx, o, NO_OPTIONS);
  const ref = referenceArg(o.reference);
  assertArg(ref.digest !== undefined || typeof o.registry?.getManifest === 'function', 'registry', 'RegistryClient (to resolve the tag)', o.registry);
  assertArg(o.envelope === undefined || isDigest(o.envelope), 'envelope', 'a digest sha256:<hex>', o.envelope);
  assertArg(o.role === undefined || (typeof o.role === 'string' && o.role.length > 0), 'role', 'a role name', o.role);
  const digest = ref.digest ?? (await o.registry.getManifest(ref, ref.tag ?? 'latest')).digest;
  const clock = ctx.clock ?? systemClock;
  const target = o.envelope !== undefined ? await findEnvelope(o.registry, ref, digest, o.envelope) : undefined;
  let role: string | undefined;
  let revoked: SignatureId[] = [];
  let keys: ReadonlyMap<string, PublicKey> = new Map();
  const r = await publishTargetsChange(ctx, o.collection ?? ref.repository, (t) => {
    keys = t.delegations?.keys ?? new Map();
    role = o.role === undefined ? undefined : delegatedRole(t, o.role).name;
    const base = { digest, reason: o.reason, revokedAt: formatTime(clock.now()), ...(role !== undefined ? { role } : {}) };
    if (target === undefined) return t.withRevocation(base);
    // The keys that verify now, limited to the role when one is named.
    const allowed = role === undefined ? keys : new Map([...keys].filter(([id]) => delegatedRole(t, role!).keyids.includes(id)));
    revoked = signatureIds(target, allowed);
    if (revoked.length === 0) {
      throw new OcitrustError('REVOKE_SIGNATURE_UNVERIFIED', `envelope ${o.envelope} of ${ref.repository}@${digest}: no signature in it verifies with a key ${role !== undefined ? `of signer ${JSON.stringify(role)}` : 'the collection delegates'}; expected at least one, got none`);
    }
    let next = t;
    for (const s of revoked) next = next.withRevocation({ ...base, signature: { key: s.key, pae: s.pae } });
    return next;
  });
  const removed: string[] = [];
  let removeError: string | undefined;
  try {
    const listing = await listSignatures(o.registry, ref, digest, { complete: true });
    const { envelopes } = await collectEnvelopes(o.registry, ref, digest, listing.descriptors);
    for (const e of envelopes) {
      if (target !== undefined && !onlyRevokedSignatures(e.envelope, revoked, keys)) continue;
      if (role !== undefined && roleNameKey(roleOf(e.envelope) ?? '') !== roleNameKey(role)) continue;
      await removeReferrer(o.registry, ref, digest, e.manifestDigest);
      removed.push(e.manifestDigest);
    }
  } catch (e) {
    if (!(e instanceof OcitrustError)) throw e;
    removeError = `${e.code}: ${e.message}`;
  }
  return { ...r, digest, ...(role !== undefined ? { role } : {}), signatures: revoked, removed, ...(removeError !== undefined ? { removeError } : {}) };
}

/** The delegated role named `name` regardless of case (names are unique regardless of case). @throws METADATA_ROLE_NOT_FOUND */
function delegatedRole(t: Targets, name: string): DelegatedRole {
  const want = roleNameKey(name);
  const role = t.roles.find((r) => roleNameKey(r.name) === want);
  if (!role) {
    throw new OcitrustError('METADATA_ROLE_NOT_FOUND', `no signer named ${JSON.stringify(name)} is delegated; expected one of ${t.roles.map((r) => JSON.stringify(r.name)).join(', ') || '(none)'}`);
  }
  return role;
}

/** The parsed envelope stored for `digest` whose bytes hash to `envelopeDigest`. @throws REVOKE_ENVELOPE_NOT_FOUND, ENVELOPE_MALFORMED, REGISTRY_* */
async function findEnvelope(registry: RegistryClient, ref: ImageReference, digest: string, envelopeDigest: string): Promise<Envelope> {
  const alg = parseDigest(envelopeDigest).algorithm;
  const listing = await listSignatures(registry, ref, digest, { complete: true });
  const { envelopes } = await collectEnvelopes(registry, ref, digest, listing.descriptors);
  const found = envelopes.find((e) => digestOf(e.envelope, alg) === envelopeDigest);
  if (!found) {
    const have = envelopes.map((e) => digestOf(e.envelope, alg)).join(', ') || 'none';
    throw new OcitrustError('REVOKE_ENVELOPE_NOT_FOUND', `no signature envelope of ${ref.repository}@${digest} has digest ${envelopeDigest}; stored: ${have}`);
  }
  return parseEnvelope(found.envelope);
}

/**
 * True when every signature of the envelope that a delegated key verifies is one of `revoked`
 * (so deleting the referrer loses nothing that still counts); unparsable envelopes are kept.
 */
function onlyRevokedSignatures(bytes: Uint8Array, revoked: readonly SignatureId[], keys: ReadonlyMap<string, PublicKey>): boolean {
  try {
    const ids = signatureIds(parseEnvelope(bytes), keys);
    return ids.length > 0 && ids.every((s) => revoked.some((r) => r.key === s.key && r.pae === s.pae));
  } catch {
    return false;
  }
}

/** The role an envelope's statement names (unverified: only used to pick referrers to delete). */
function roleOf(envelope: Uint8Array): string | undefined {
  try {
    const st = parseStatement(parseEnvelope(envelope).payload);
    return st.kind === 'signature' ? st.signature.role : undefined;
  } catch {
    return undefined;
  }
}

/** Result of {@link rotateKey}. */
export interface RotateResult {
  readonly collection: string;
  readonly role: 'root' | 'targets';
  readonly oldKeyids: readonly string[];
  readonly newKey: { readonly name: string; readonly keyid: string; readonly generated: boolean };
  readonly versions: { readonly root: number; readonly targets: number; readonly snapshot: number; readonly timestamp: number };
}

/**
 * Rotates the root or targets key of a collection (`trust key rotate`): a new key (generated
 * as `<role>-<slug>-v<N>` unless `newKey` names one), and root version N+1 naming it, signed
 * by a threshold of the current root keys and — for a root rotation — by the new key too
 * (TUF 5.3.4). A targets rotation publishes, in the same request, the next targets version
 * signed by the new key. Delegations are untouched, so existing signatures keep verifying.
 *
 * A lost race for the next version is re-read and rebuilt (as {@link publishTargetsChange}
 * does); a root that another publisher changed meanwhile stops it with PUBLISH_CHANGE_CONFLICT.
 *
 * @throws SIGNING_KEY_MISSING (not enough local root keys), PUBLISH_CHANGE_CONFLICT, PUBLISH_*, TRUST_SERVER_*, KEY_*, the TUF_* codes
 */
export async function rotateKey(ctx: AdminContext, o: { collection: string; role: 'root' | 'targets'; newKey?: string }): Promise<RotateResult> {
  checkAdmin(ctx, o, o?.collection);
  assertArg(o.role === 'root' || o.role === 'targets', 'role', 'root or targets', o.role);
  const clock = ctx.clock ?? systemClock;
  // A targets change landing meanwhile (a signer add) is re-read and carried over; a root
  // changed meanwhile (another rotation) is a real conflict.
  const base = changeBase(`the root of ${o.collection}`);
  let chosen: { name: string; key: Awaited<ReturnType<typeof useOrGenerateKey>> } | undefined;
  let rootSigners: readonly Signer[] | undefined;
  let newSigner: Signer | undefined;
  return retryOnVersionConflict(async () => {
    const trust = await open(ctx, o.collection);
    const root = trust.refresh.metadata.root.signed;
    base.check({ version: root.version, keys: root.role(o.role).keyids });
    const rootRole = root.role('root');
    const oldKeyids = [...root.role(o.role).keyids];
    if (!chosen) {
      const name = o.newKey ?? `${o.role}-${collectionSlug(o.collection)}-v${root.version + 1}`;
      chosen = { name, key: await useOrGenerateKey(ctx.keys, name, o.role, ctx.passphrase) };
    }
    const { key } = chosen;
    const name = key.entry.name;
    if (oldKeyids.includes(key.entry.keyid)) {
      throw new OcitrustError('INVALID_ARGUMENT', `key ${name} is already the ${o.role} key of ${o.collection}; rotate to a different key`);
    }
    rootSigners ??= (await loadLocalSigners(ctx.keys, rootRole.keyids, { want: rootRole.threshold, need: rootRole.threshold, role: 'root', passphrase: ctx.passphrase })).signers;
    newSigner ??= await openKey(ctx.keys, key.entry, o.role, ctx.passphrase);
    const nextRoot = bumpVersion(root.withRoleKeys(o.role, [newSigner.publicKey], 1), { clock });
    const rootMd = await signAll(nextRoot, o.role === 'root' ? [...rootSigners, newSigner] : rootSigners);
    const docs: { root: unknown; targets?: unknown } = { root: rootMd.toJSON() };
    if (o.role === 'targets') {
      const nextTargets = bumpVersion(trust.refresh.metadata.targets.signed, { clock });
      docs.targets = (await signAll(nextTargets, [newSigner])).toJSON();
    }
    const r = await ctx.server.publish(o.collection, docs);
    await open(ctx, o.collection);
    return {
      collection: o.collection,
      role: o.role,
      oldKeyids,
      newKey: { name, keyid: newSigner.keyid, generated: !!key.generated },
      versions: r.versions,
    };
  });
}

/** The keys of `a` and `b`, each key once: by key material, so a second spelling of a listed key adds nothing. */
function unionKeys(a: readonly PublicKey[], b: readonly PublicKey[]): PublicKey[] {
  const m = new Map<string, PublicKey>();
  for (const k of [...a, ...b]) if (!m.has(k.fingerprint)) m.set(k.fingerprint, k);
  return [...m.values()];
}
