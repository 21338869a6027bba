/**
 * `trust import-notary` (issue 15 item 3): migrates one Notary v1 repository (a GUN signed with
 * `docker trust`) into an ocitrust collection, without losing a signed tag or changing who may
 * sign. In order, and nothing is written before step 4:
 *
 * 1. read and fully verify the Notary repository (lib/notary, every delegation) against the
 *    pinned root, or the caller's confirmed first use;
 * 2. plan: one ocitrust signer role per Notary delegation (`targets/releases` → `releases`,
 *    `targets/alice` → `alice`) with the same public keys (compared by fingerprint) and
 *    threshold; every signed tag checked against the registry (same SHA-256 and size);
 * 3. decrypt the delegation keys found in the Notary trust dir (a wrong passphrase or a damaged
 *    key file stops the import here);
 * 4. publish the collection (new: root + targets with the signers, one publish) or its signer
 *    changes (existing: one targets publish), then write one ocitrust signature per (tag,
 *    role) that is not already there. Re-running finds everything done and writes nothing.
 */
import { createHash } from 'node:crypto';
import { OcitrustError, isOcitrustError } from '../errors/index.js';
import { systemClock, type Clock } from '../clock.js';
import { PublicKey } from '../keys/key.js';
import type { Signer } from '../keys/signer.js';
import { checkRoleName } from '../metadata/role.js';
import type { Targets } from '../metadata/targets.js';
import { parseReference } from '../reference.js';
import type { RegistryClient } from '../oci/client.js';
import { loadNotaryRepo, parseNotaryPin, type NotaryPin, type TrustedNotaryRepo } from '../notary/client.js';
import { parseRoot } from '../notary/metadata.js';
import { httpNotarySource, type NotarySource } from '../notary/source.js';
import { decryptNotaryKey, listNotaryKeyFiles, type NotarySigningKey } from '../notary/trust-dir.js';
import { defaultSignerPaths, initCollection, publishTargetsChange, type AdminContext } from './admin.js';
import { signImage } from './sign.js';
import { openCollection } from './trust.js';
import { verifyReference } from './verify.js';

/** Signatures written at once (registry round trips dominate; the manifests differ). */
const SIGN_CONCURRENCY = 8;

/** Options of {@link importNotary}. */
export interface ImportNotaryOptions {
  /** The repository (normalized), which names the collection and, by default, the GUN. */
  readonly repository: string;
  readonly gun?: string;
  readonly notaryServer: string;
  /** CA of the Notary server's TLS certificate. */
  readonly notaryCa?: Uint8Array;
  /** The pinned Notary root (certificate or root.json); absent: first use, which the caller confirmed. */
  readonly root?: Uint8Array;
  /** A Notary / docker trust dir whose `private/` keys sign the migrated tags. */
  readonly trustDir?: string;
  readonly dryRun?: boolean;
  /**
   * A new collection's root and targets keys are the Notary repository's (from `trustDir`),
   * moved into the ocitrust key store: whoever pinned the Notary root key recognizes the new
   * root's key. Without it new keys are generated.
   */
  readonly keepRootKey?: boolean;
  readonly registry: RegistryClient;
  readonly clock?: Clock;
  /**
   * Without `root`: asked with the fingerprints of the server's root keys; the import goes on
   * only when it resolves true (the CLI's `--yes` after printing them). Absent: refused.
   */
  readonly confirmFirstUse?: (rootKeys: readonly string[]) => Promise<boolean>;
  /** Tests: the Notary metadata source. */
  readonly source?: NotarySource;
}

/** Why a tag (or one of its roles) was not migrated. */
export type SkipReason = 'manifest-moved' | 'missing-from-registry' | 'no-private-key' | 'below-threshold' | 'signer-not-migrated' | 'not-delegated' | 'delegation-invalid';

/** What the import did (or, with dryRun, would do). */
export interface ImportReport {
  readonly repository: string;
  readonly gun: string;
  readonly dryRun: boolean;
  /** The Notary root the data was verified against: its root keys' fingerprints, and whether it was pinned or trusted on first use. */
  readonly notaryRoot: { readonly version: number; readonly rootKeys: readonly string[]; readonly firstUse: boolean };
  readonly collection: { readonly created: boolean; readonly signersChanged: boolean; readonly newKeys: readonly string[]; readonly keptNotaryKeys: readonly string[] };
  readonly signers: readonly { readonly name: string; readonly notaryRole: string; readonly keys: readonly string[]; readonly threshold: number; readonly skipped?: string }[];
  readonly tags: readonly { readonly tag: string; readonly digest: string; readonly roles: readonly string[]; readonly status: 'migrated' | 'already-migrated' | 'would-migrate' }[];
  readonly skipped: readonly { readonly tag: string; readonly role?: string; readonly reason: SkipReason; readonly detail: string }[];
}

interface PlannedSigner {
  readonly name: string;
  readonly notaryRole: string;
  readonly keys: PublicKey[];
  readonly threshold: number;
  readonly paths: string[];
}

/** Notary's `targets/<name>` → ocitrust role name; undefined when it cannot be one. */
function roleOf(notaryRole: string): string | undefined {
  const name = notaryRole.slice('targets/'.length);
  if (!notaryRole.startsWith('targets/') || name.includes('/')) return undefined;
  try {
    return checkRoleName(name);
  } catch {
    return undefined;
  }
}

/** Notary delegation paths are prefixes of target names (tags); `""` is every tag. */
function pathsOf(repository: string, paths: readonly string[]): string[] {
  if (paths.includes('')) return defaultSignerPaths(repository);
  return paths.map((p) => `${repository}:${p.replace(/[*?[\]\\]/g, '\\$&')}*`);
}

function planSigners(repo: TrustedNotaryRepo, repository: string, skipped: ImportReport['signers'][number][]): PlannedSigner[] {
  const out: PlannedSigner[] = [];
  for (const d of repo.targets.signed.delegations) {
    const name = roleOf(d.name);
    const keys: PublicKey[] = [];
    let why: string | undefined = name ? undefined : 'not a top-level delegation with a valid ocitrust role name';
    for (const id of d.keyids) {
      const k = repo.targets.signed.delegationKeys.get(id)!;
      if (k.algorithm === 'ecdsa-p256') keys.push(PublicKey.fromEcdsaP256(k.publicKey));
      else why ??= `key ${k.fingerprint.slice(0, 16)}… is ${k.algorithm}: ocitrust signs with Ed25519 and ECDSA P-256 only`;
    }
    if (!why && keys.length === 0) why = 'no keys (every signer was removed)';
    if (!why && keys.length < d.threshold) why = `threshold ${d.threshold} with ${keys.length} keys`;
    if (why) {
      skipped.push({ name: name ?? d.name, notaryRole: d.name, keys: keys.map((k) => k.fingerprint), threshold: d.threshold, skipped: why });
      continue;
    }
    out.push({ name: name!, notaryRole: d.name, keys, threshold: d.threshold, paths: pathsOf(repository, d.paths) });
  }
  return out;
}

/** The targets with every planned signer as it must be (keys by fingerprint, threshold, paths). */
function withSigners(t: Targets, signers: readonly PlannedSigner[]): Targets {
  let next = t;
  for (const s of signers) next = next.withDelegation({ name: s.name, keys: s.keys, threshold: s.threshold, paths: s.paths, terminating: false });
  return next;
}

function sameSigners(t: Targets, signers: readonly PlannedSigner[]): boolean {
  return signers.every((s) => {
    const r = t.delegations?.role(s.name);
    if (!r || r.threshold !== s.threshold) return false;
    const have = new Set(r.keyids.map((id) => t.delegations!.keys.get(id)?.fingerprint));
    return s.keys.every((k) => have.has(k.fingerprint)) && have.size === s.keys.length;
  });
}

/**
 * Runs the import (see the module comment).
 * @throws the lib/notary codes for the Notary data (nothing written), KEY_PASSPHRASE_WRONG /
 *   PEM_MALFORMED / PEM_UNSUPPORTED for the trust dir's keys (nothing written), the admin use
 *   cases' codes for the publish, REGISTRY_* for the registry
 */
export async function importNotary(ctx: AdminContext, o: ImportNotaryOptions): Promise<ImportReport> {
  const clock = o.clock ?? ctx.clock ?? systemClock;
  const gun = o.gun ?? o.repository;
  const source = o.source ?? httpNotarySource(o.notaryServer, gun, o.notaryCa ? { ca: o.notaryCa } : {});

  // 1. The Notary repository, fully verified.
  let pin: NotaryPin;
  let firstUse = false;
  if (o.root) pin = parseNotaryPin(o.root);
  else {
    const bytes = await source.get('root.json', 512 * 1024);
    if (!bytes) throw new OcitrustError('NOTARY_NO_TRUST_DATA', `Notary server ${source.describe} has no trust data for ${gun}`);
    const doc = parseRoot(bytes, `Notary root of ${gun}`);
    pin = { kind: 'root', doc, fingerprint: createHash('sha256').update(doc.message).digest('hex') };
    const fps = doc.signed.roles.root.keyids.map((id) => doc.signed.keys.get(id)!.fingerprint);
    if (!(await o.confirmFirstUse?.(fps))) {
      throw new OcitrustError('TRUST_ROOT_NOT_PINNED', `the Notary root of ${gun} is not pinned (root keys ${fps.map((f) => f.slice(0, 16) + '…').join(', ')}): pass its certificate or root.json, or confirm its first use`);
    }
    firstUse = true;
  }
  const repo = await loadNotaryRepo({ source, gun, pin, clock, delegations: 'all' });
  const rootKeys = repo.root.signed.roles.root.keyids.map((id) => repo.root.signed.keys.get(id)!.fingerprint);

  // 2. The plan: signers, then every signed tag against the registry.
  const signerReport: ImportReport['signers'][number][] = [];
  const signers = planSigners(repo, o.repository, signerReport);
  for (const s of signers) signerReport.push({ name: s.name, notaryRole: s.notaryRole, keys: s.keys.map((k) => k.fingerprint), threshold: s.threshold });
  const skipped: ImportReport['skipped'][number][] = [];
  const byTag = new Map<string, { sha256: string; length: number; roles: string[] }>();
  for (const t of repo.targets.signed.targets.keys()) skipped.push({ tag: t, role: 'targets', reason: 'not-delegated', detail: 'signed with the repository\'s targets key, not by a signer: sign it again with `trust sign` after the import' });
  for (const [notaryRole, bad] of repo.invalidDelegations) {
    // Its targets are not trusted, so not even listed: every tag only it signed stays behind.
    skipped.push({ tag: '*', role: roleOf(notaryRole) ?? notaryRole, reason: 'delegation-invalid', detail: `${bad.code}: ${bad.message}` });
  }
  for (const [notaryRole, doc] of repo.delegations) {
    const s = signers.find((x) => x.notaryRole === notaryRole);
    for (const [tag, meta] of doc.signed.targets) {
      if (!s) {
        skipped.push({ tag, role: notaryRole, reason: 'signer-not-migrated', detail: `${notaryRole} is not migrated (see signers)` });
        continue;
      }
      const e = byTag.get(tag);
      if (e && (e.sha256 !== meta.hashes.sha256 || e.length !== meta.length)) {
        skipped.push({ tag, role: s.name, reason: 'manifest-moved', detail: `${notaryRole} signed another manifest for ${tag} than another delegation did` });
        continue;
      }
      if (e) e.roles.push(s.name);
      else byTag.set(tag, { sha256: meta.hashes.sha256!, length: meta.length, roles: [s.name] });
    }
  }
  const ref = parseReference(o.repository, { defaultTag: false });
  const planned: { tag: string; digest: string; roles: string[] }[] = [];
  const sortedTags = [...byTag].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // The manifests are fetched 8 at a time, then judged in tag order (a stable report).
  const fetched = new Map<string, Promise<Awaited<ReturnType<RegistryClient['getManifest']>>>>();
  let nextFetch = 0;
  const prefetch = (): void => {
    while (nextFetch < sortedTags.length && fetched.size - countSettled < SIGN_CONCURRENCY) {
      const tag = sortedTags[nextFetch++]![0];
      const p = o.registry.getManifest(ref, tag);
      p.catch(() => undefined);
      fetched.set(tag, p);
    }
  };
  let countSettled = 0;
  for (const [tag, e] of sortedTags) {
    prefetch();
    let m;
    try {
      m = await fetched.get(tag)!;
    } catch (err) {
      if (isOcitrustError(err, 'MANIFEST_NOT_FOUND')) {
        for (const role of e.roles) skipped.push({ tag, role, reason: 'missing-from-registry', detail: `${o.repository}:${tag} is not in the registry` });
        continue;
      }
      throw err;
    }
    finally {
      countSettled++;
    }
    const sha = createHash('sha256').update(m.bytes).digest('hex');
    if (sha !== e.sha256 || m.bytes.length !== e.length) {
      for (const role of e.roles) skipped.push({ tag, role, reason: 'manifest-moved', detail: `the registry has sha256:${sha} (${m.bytes.length} bytes), Notary signed sha256:${e.sha256} (${e.length} bytes)` });
      continue;
    }
    planned.push({ tag, digest: `sha256:${sha}`, roles: e.roles });
  }

  // 3. Keys from the Notary trust dir (all decrypted before anything is written).
  const loaded = new Map<string, NotarySigningKey>();
  if (o.trustDir) {
    const wanted = new Set(signers.flatMap((s) => s.keys.map((k) => k.fingerprint)));
    for (const f of await listNotaryKeyFiles(o.trustDir)) {
      if (f.role && ['root', 'targets', 'snapshot', 'timestamp'].includes(f.role)) continue;
      if (f.gun && f.gun !== gun) continue;
      const role = f.role?.replace(/^targets\//, '');
      const pass = f.label === 'ENCRYPTED PRIVATE KEY' ? await ctx.passphrase({ keyName: `notary-${f.file.replace(/[^a-z0-9._-]/gi, '-').slice(-40)}`, ...(role ? { role } : {}) }) : '';
      const k = decryptNotaryKey(f, pass);
      if (wanted.has(k.fingerprint)) loaded.set(k.fingerprint, k);
    }
  }
  let kept: { root: NotarySigningKey; targets: NotarySigningKey } | undefined;
  if (o.keepRootKey) {
    if (!o.trustDir) throw new OcitrustError('INVALID_ARGUMENT', 'keepRootKey: expected the Notary trust dir that holds the root and targets keys, got none');
    kept = await notaryTopKeys(ctx, o.trustDir, gun, repo);
  }
  const signing: { tag: string; digest: string; role: string; signers: Signer[] }[] = [];
  const tagRoles = new Map<string, string[]>();
  for (const p of planned) {
    for (const role of p.roles) {
      const s = signers.find((x) => x.name === role)!;
      const have = s.keys.map((k) => loaded.get(k.fingerprint)).filter((k): k is NotarySigningKey => k !== undefined);
      if (have.length === 0) {
        skipped.push({ tag: p.tag, role, reason: 'no-private-key', detail: o.trustDir ? `no key of ${s.notaryRole} in ${o.trustDir}/private` : 'no --notary-trust-dir given' });
        continue;
      }
      if (have.length < s.threshold) {
        skipped.push({ tag: p.tag, role, reason: 'below-threshold', detail: `${s.notaryRole} needs ${s.threshold} keys, ${have.length} found` });
        continue;
      }
      signing.push({ tag: p.tag, digest: p.digest, role, signers: have.map((k) => k.signer) });
      tagRoles.set(p.tag, [...(tagRoles.get(p.tag) ?? []), role]);
    }
  }

  // The collection as it is (for idempotence): exists or not, its signers, what is signed.
  let exists = true;
  let trust;
  try {
    trust = await openCollection({ home: ctx.home, collection: o.repository, server: ctx.server.baseUrl, online: true, ...(ctx.token ? { token: ctx.token } : {}), clock });
  } catch (e) {
    if (!isOcitrustError(e, 'COLLECTION_NOT_FOUND')) throw e;
    exists = false;
  }
  const signersChanged = !exists || !sameSigners(trust!.refresh.metadata.targets.signed, signers);
  const done = new Set<string>();
  if (exists && !signersChanged) {
    await inPool(signing, SIGN_CONCURRENCY, async (s) => {
      const v = await verifyReference({ reference: `${o.repository}:${s.tag}@${s.digest}`, registry: o.registry, trust: trust!.refresh.trusted, policy: { requiredRoles: { allOf: [s.role] } }, clock, repairIndex: false });
      if (v.verified) done.add(`${s.tag}\n${s.role}`);
    });
  }
  const status = (tag: string): 'migrated' | 'already-migrated' | 'would-migrate' =>
    (tagRoles.get(tag) ?? []).every((r) => done.has(`${tag}\n${r}`)) ? 'already-migrated' : o.dryRun ? 'would-migrate' : 'migrated';
  const report = (created: boolean, newKeys: string[], keptNotaryKeys: string[] = []): ImportReport => ({
    repository: o.repository,
    gun,
    dryRun: !!o.dryRun,
    notaryRoot: { version: repo.root.signed.version, rootKeys, firstUse },
    collection: { created, signersChanged, newKeys, keptNotaryKeys },
    signers: signerReport,
    tags: [...tagRoles].map(([tag, roles]) => ({ tag, digest: signing.find((s) => s.tag === tag)!.digest, roles, status: status(tag) })),
    skipped,
  });
  if (o.dryRun) return report(false, []);

  // 4. Write: one publish of the signers, then the signatures not yet there.
  let created = false;
  const newKeys: string[] = [];
  const keptNotaryKeys: string[] = [];
  if (!exists) {
    const names = kept ? { rootKey: await keepKey(ctx, kept.root, 'root'), targetsKey: await keepKey(ctx, kept.targets, 'targets') } : {};
    if (names.rootKey) keptNotaryKeys.push(`root key ${names.rootKey}`, `targets key ${names.targetsKey}`);
    const r = await initCollection(ctx, { collection: o.repository, ...names, targets: (t) => withSigners(t, signers) });
    created = true;
    if (r.rootKey.generated) newKeys.push(`root key ${r.rootKey.name}`);
    if (r.targetsKey.generated) newKeys.push(`targets key ${r.targetsKey.name}`);
  } else if (signersChanged) {
    await publishTargetsChange(ctx, o.repository, (t) => withSigners(t, signers));
  }
  // Tags in parallel (each its own manifest and referrers), a tag's roles one after the other
  // (on a registry without the referrers API they share the digest's fallback index).
  const byDigest = new Map<string, typeof signing>();
  for (const s of signing) if (!done.has(`${s.tag}\n${s.role}`)) byDigest.set(s.digest, [...(byDigest.get(s.digest) ?? []), s]);
  await inPool([...byDigest.values()], SIGN_CONCURRENCY, async (job) => {
    for (const s of job) await signImage({ reference: `${o.repository}:${s.tag}@${s.digest}`, registry: o.registry, signer: s.signers, role: s.role, clock });
  });
  return report(created, newKeys, keptNotaryKeys);
}

/** Runs `fn` over `items`, `n` at a time; the first error stops taking new items and is thrown. */
async function inPool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/**
 * The Notary repository's root key (the one its root lists; files with `role: root`) and
 * targets key (`role: targets`, this GUN), decrypted.
 * @throws KEY_NOT_FOUND when either is not in the trust dir, KEY_PASSPHRASE_WRONG, PEM_*
 */
async function notaryTopKeys(ctx: AdminContext, trustDir: string, gun: string, repo: TrustedNotaryRepo): Promise<{ root: NotarySigningKey; targets: NotarySigningKey }> {
  const want = (role: 'root' | 'targets') => new Set(repo.root.signed.roles[role].keyids.map((id) => repo.root.signed.keys.get(id)!.fingerprint));
  const out: Partial<Record<'root' | 'targets', NotarySigningKey>> = {};
  for (const f of await listNotaryKeyFiles(trustDir)) {
    const role = f.role === 'root' || f.role === 'targets' ? f.role : undefined;
    if (!role || out[role] || (role === 'targets' && f.gun !== undefined && f.gun !== gun)) continue;
    const pass = f.label === 'ENCRYPTED PRIVATE KEY' ? await ctx.passphrase({ keyName: `notary-${role}`, role }) : '';
    const k = decryptNotaryKey(f, pass);
    if (want(role).has(k.fingerprint)) out[role] = k;
  }
  for (const role of ['root', 'targets'] as const) {
    if (!out[role]) throw new OcitrustError('KEY_NOT_FOUND', `--keep-root-key: the Notary ${role} key of ${gun} is not in ${trustDir}/private (expected the key of fingerprint ${[...want(role)][0]?.slice(0, 16)}…)`);
  }
  return out as { root: NotarySigningKey; targets: NotarySigningKey };
}

/** The key store name of a kept Notary key: an existing entry with the same key, else a new import. */
async function keepKey(ctx: AdminContext, k: NotarySigningKey, role: 'root' | 'targets'): Promise<string> {
  for (const e of await ctx.keys.list()) {
    if ((await ctx.keys.publicKey(e.name)).fingerprint === k.fingerprint) return e.name;
  }
  const name = `notary-${role}-${k.fingerprint.slice(0, 12)}`;
  const pass = await ctx.passphrase({ keyName: name, role, confirm: true });
  await ctx.keys.importPem(k.pkcs8Pem(), name, pass);
  return name;
}
