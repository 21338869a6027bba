/**
 * Signing an image (DESIGN §4): resolve the reference once (digest recomputed from the
 * manifest bytes), build the ocitrust signature statement, sign it as a DSSE envelope and push
 * it as a referrer of the manifest; with `recursive`, every child of an index too.
 */
import { OcitrustError, assertArg } from '../errors/index.js';
import { assertClock, isValidDate, readClock, systemClock, type Clock } from '../clock.js';
import type { Signer } from '../keys/signer.js';
import type { KeyStore } from '../keys/keystore.js';
import { formatReference, referenceArg, type ImageReference } from '../reference.js';
import type { FetchedManifest, RegistryClient } from '../oci/client.js';
import { pushSignature } from '../oci/referrers.js';
import { isIndex, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, type Descriptor } from '../oci/types.js';
import { buildSignatureStatement } from '../statements/statement.js';
import { signStatement } from '../statements/sign.js';
import { serializeEnvelope } from '../statements/dsse.js';
import { pathMatches, targetPathOf } from '../metadata/paths.js';
import type { TrustedTargets } from '../verify/trust.js';
import { RELEASES_ROLE } from './admin.js';
import { openKey, type PassphraseProvider } from './keys.js';

/** Options of {@link signImage}. */
export interface SignImageOptions {
  readonly reference: string | ImageReference;
  readonly registry: RegistryClient;
  /** One key, or several keys of the same role (one envelope carries all their signatures). */
  readonly signer: Signer | readonly Signer[];
  /** The delegated role the statement names (DESIGN §4 predicate `role`). */
  readonly role: string;
  /** Statement expiry (predicate `expires`). */
  readonly expires?: Date;
  /** Also sign every child manifest of an index. */
  readonly recursive?: boolean;
  readonly clock?: Clock;
  /** Use the referrers tag schema even where the registry has the API (tests, broken registries). */
  readonly forceFallback?: boolean;
  /** Called after each manifest is signed (for progress bars). */
  readonly onProgress?: (done: number, total: number, digest: string) => void;
}

/** One signed manifest. */
export interface SignedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** The tag the statement names (the top-level manifest of a tagged reference only). */
  readonly tag?: string;
  /** The pushed signature manifest. */
  readonly signature: {
    readonly digest: string;
    /** `api`: the registry indexes referrers; `fallback`: tag schema plus a per-signature tag. */
    readonly mode: 'api' | 'fallback';
    readonly tag?: string;
    /** Fallback: whether the shared index lists it (it is findable through its own tag either way). */
    readonly indexUpdated: boolean;
  };
}

/** Result of {@link signImage}. */
export interface SignImageResult {
  /** `repository[:tag]@digest` of what was signed. */
  readonly reference: string;
  readonly repository: string;
  readonly digest: string;
  readonly role: string;
  readonly keyids: readonly string[];
  /** The top-level manifest first, then the children (with `recursive`). */
  readonly signed: readonly SignedManifest[];
}

/** Most manifests one recursive signing walks (an index of indexes cannot grow it unbounded). */
const MAX_RECURSIVE = 1024;

/**
 * Signs an image. The statement's subject is the normalized repository and the digest
 * computed from the bytes the registry returned — never a digest the registry claims.
 *
 * @example await signImage({ reference: 'registry.example.com/app:v1', registry, signer, role: 'alice' })
 * @throws REFERENCE_INVALID, MANIFEST_NOT_FOUND, MANIFEST_DIGEST_MISMATCH, REGISTRY_*, BLOB_UPLOAD_FAILED, INVALID_ARGUMENT
 */
export async function signImage(o: SignImageOptions): Promise<SignImageResult> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'SignImageOptions object', o);
  const ref = referenceArg(o.reference);
  assertArg(typeof o.registry?.getManifest === 'function', 'registry', 'RegistryClient', o.registry);
  const signers = Array.isArray(o.signer) ? (o.signer as readonly Signer[]) : [o.signer as Signer];
  assertArg(signers.length > 0, 'signer', 'at least one Signer', o.signer);
  signers.forEach((s, i) => assertArg(typeof s === 'object' && s !== null && typeof s.keyid === 'string' && typeof s.sign === 'function', `signer[${i}]`, 'Signer {keyid, sign()}', s));
  assertArg(typeof o.role === 'string' && o.role.length > 0, 'role', 'a role name', o.role);
  // An Invalid Date would be written as no expiry at all, or crash half-way through a recursive signing.
  assertArg(o.expires === undefined || isValidDate(o.expires), 'expires', 'a valid Date', o.expires);
  for (const k of ['recursive', 'forceFallback'] as const) assertArg(o[k] === undefined || typeof o[k] === 'boolean', k, 'boolean', o[k]);
  assertArg(o.onProgress === undefined || typeof o.onProgress === 'function', 'onProgress', 'function', o.onProgress);
  if (o.clock !== undefined) assertClock(o.clock, 'clock');
  const clock = o.clock ?? systemClock;
  readClock(clock); // before any registry traffic: a clock that gives no valid time signs nothing
  const top = await o.registry.getManifest(ref, ref.digest ?? ref.tag ?? 'latest');

  const todo: { m: FetchedManifest; tag?: string }[] = [{ m: top, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) }];
  if (o.recursive && isIndex(top.manifest)) {
    const seen = new Set([top.digest]);
    const queue: Descriptor[] = [...top.manifest.manifests];
    while (queue.length > 0) {
      const d = queue.shift()!;
      if (seen.has(d.digest) || !MANIFEST_MEDIA_TYPES.includes(d.mediaType)) continue;
      seen.add(d.digest);
      if (seen.size > MAX_RECURSIVE) throw new OcitrustError('INPUT_TOO_LARGE', `${formatReference(ref)}: more than ${MAX_RECURSIVE} manifests under the index`);
      const child = await o.registry.getManifest(ref, d.digest);
      todo.push({ m: child });
      if (isIndex(child.manifest) && INDEX_MEDIA_TYPES.includes(child.mediaType)) queue.push(...child.manifest.manifests);
    }
  }

  const signed: SignedManifest[] = [];
  for (const { m, tag } of todo) {
    const statement = buildSignatureStatement({
      repository: ref.repository,
      digest: m.digest,
      ...(tag !== undefined ? { tag } : {}),
      mediaType: m.mediaType,
      size: m.size,
      role: o.role,
      signedAt: readClock(clock),
      ...(o.expires !== undefined ? { expires: o.expires } : {}),
    });
    const envelope = serializeEnvelope(await signStatement(statement, signers));
    const pushed = await pushSignature(o.registry, ref, { mediaType: m.mediaType, digest: m.digest, size: m.size }, envelope, {
      created: readClock(clock),
      ...(o.forceFallback ? { forceFallback: true } : {}),
    });
    signed.push({
      digest: m.digest,
      mediaType: m.mediaType,
      size: m.size,
      ...(tag !== undefined ? { tag } : {}),
      signature: { digest: pushed.digest, mode: pushed.mode, indexUpdated: pushed.indexUpdated, ...(pushed.tag !== undefined ? { tag: pushed.tag } : {}) },
    });
    o.onProgress?.(signed.length, todo.length, m.digest);
  }
  return {
    reference: `${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}@${top.digest}`,
    repository: ref.repository,
    digest: top.digest,
    role: o.role,
    keyids: signers.map((s) => s.keyid),
    signed,
  };
}

/** What {@link selectSigning} chose. */
export interface SigningChoice {
  readonly role: string;
  /** Local keys (key store names and keyids) that will sign. */
  readonly keys: readonly { readonly name: string; readonly keyid: string }[];
  /** The role's threshold (how many distinct keys must sign in total). */
  readonly threshold: number;
}

/**
 * Chooses the role and local keys for signing `reference` against trusted targets metadata:
 * `--signer` names the role, `--key` the key; without either, the one role (other than
 * `releases`, which every `signer add` feeds) whose paths cover the image and that has a key
 * in the local store. Refuses to sign with a key or for a role the metadata does not delegate
 * for this image: such a signature could never count.
 *
 * @throws SIGNER_NOT_DELEGATED, SIGNING_KEY_MISSING, SIGNER_AMBIGUOUS, KEY_NOT_FOUND, KEY_AMBIGUOUS
 */
export async function selectSigning(
  trust: TrustedTargets,
  keys: KeyStore,
  reference: ImageReference,
  opts: { signer?: string; key?: string } = {},
): Promise<SigningChoice> {
  const target = targetPathOf(reference.repository, reference.tag !== undefined ? { tag: reference.tag } : { digest: reference.digest ?? '' });
  const covering = trust.roles.filter((r) => r.paths.some((p) => pathMatches(p, target)));
  const local = await keys.list();
  let keyFilter: ((k: { name: string; keyid: string }) => boolean) | undefined;
  if (opts.key !== undefined) {
    const k = await keys.resolve(opts.key);
    keyFilter = (x) => x.keyid === k.keyid;
  }
  const candidates = (opts.signer !== undefined ? trust.roles.filter((r) => r.name === opts.signer) : covering).map((r) => ({
    role: r,
    keys: local.filter((k) => r.keyids.includes(k.keyid) && (!keyFilter || keyFilter(k))),
  }));
  if (opts.signer !== undefined) {
    const c = candidates[0];
    if (!c) throw new OcitrustError('SIGNER_NOT_DELEGATED', `${reference.repository} delegates no signer named ${JSON.stringify(opts.signer)}`);
    if (!covering.includes(c.role)) {
      throw new OcitrustError('SIGNER_NOT_DELEGATED', `signer ${opts.signer} may not sign ${target}: its paths are ${c.role.paths.join(' ')}`);
    }
    if (c.keys.length === 0) {
      throw new OcitrustError(
        opts.key !== undefined ? 'SIGNER_NOT_DELEGATED' : 'SIGNING_KEY_MISSING',
        opts.key !== undefined ? `key ${opts.key} is not a key of signer ${opts.signer}` : `no key of signer ${opts.signer} is in the local key store ${keys.dir}`,
      );
    }
    return choice(c.role, c.keys);
  }
  const usable = candidates.filter((c) => c.keys.length > 0);
  if (usable.length === 0) {
    const what = opts.key !== undefined ? `key ${opts.key}` : `any key in ${keys.dir}`;
    throw new OcitrustError(opts.key !== undefined ? 'SIGNER_NOT_DELEGATED' : 'SIGNING_KEY_MISSING', `no signer role of ${reference.repository} covering ${target} delegates ${what}; add it with \`trust signer add\``);
  }
  const preferred = usable.filter((c) => c.role.name !== RELEASES_ROLE);
  const pick = preferred.length > 0 ? preferred : usable;
  if (pick.length > 1) {
    throw new OcitrustError('SIGNER_AMBIGUOUS', `local keys can sign ${target} as ${pick.map((c) => c.role.name).join(', ')}; choose one with --signer`);
  }
  return choice(pick[0]!.role, pick[0]!.keys);
}

function choice(role: { name: string; threshold: number }, keys: readonly { name: string; keyid: string }[]): SigningChoice {
  // Enough keys for the threshold when they are all here; more would add nothing.
  return { role: role.name, threshold: role.threshold, keys: keys.slice(0, Math.max(1, role.threshold)).map((k) => ({ name: k.name, keyid: k.keyid })) };
}

/** Loads the chosen local keys as signers (one passphrase each). */
export async function loadChoice(keys: KeyStore, c: SigningChoice, passphrase: PassphraseProvider): Promise<Signer[]> {
  const out: Signer[] = [];
  for (const k of c.keys) out.push(await openKey(keys, k, c.role, passphrase));
  return out;
}
