/**
 * `trust inspect`: what the registry holds for an image (manifest, children, every signature
 * envelope and what its statement says) next to what the trust metadata says (signers, keys,
 * revocations), with each signature judged by the verifier on its own.
 */
import { assertClock, formatTime, systemClock, type Clock } from '../clock.js';
import { assertArg } from '../errors/index.js';
import { digestOf } from '../crypto/hash.js';
import { referenceArg, type ImageReference } from '../reference.js';
import type { RegistryClient } from '../oci/client.js';
import { listSignatures } from '../oci/referrers.js';
import { collectEnvelopes } from '../oci/signature-artifact.js';
import { isIndex, type Platform } from '../oci/types.js';
import { parseEnvelope } from '../statements/dsse.js';
import { paeDigestOf } from '../verify/signature-id.js';
import { parseStatement } from '../statements/statement.js';
import { verifyImage } from '../verify/verifier.js';
import type { VerifyFailure } from '../verify/result.js';
import { Root } from '../metadata/root.js';
import { findCosignSignatures, type FoundSignature } from '../cosign/describe.js';
import { Targets } from '../metadata/targets.js';
import { trustViewFromTargets } from '../metadata/trust-view.js';
import { childManifests } from './verify.js';

/** One signature envelope found for a manifest. */
export interface InspectedSignature {
  /** Digest of the signature manifest in the registry. */
  readonly manifestDigest: string;
  /** Digest of the envelope bytes (what `trust revoke --envelope` takes to find it). */
  readonly envelopeDigest: string;
  /**
   * Digest of the DSSE PAE the envelope's signatures signed: with the signing key's fingerprint,
   * what a revocation of one signature names (it survives any re-encoding of the envelope).
   */
  readonly pae?: string;
  /** Keyid hints of the envelope's signatures (unverified). */
  readonly keyids: readonly string[];
  /** What the statement says (unverified unless `counts`). */
  readonly role?: string;
  readonly tag?: string;
  readonly signedAt?: string;
  readonly expires?: string;
  /** True when this envelope alone passes every check of DESIGN §5 step 4 for its role. */
  readonly counts: boolean;
  /** Why it does not count (or other problems), from the verifier. */
  readonly failures: readonly VerifyFailure[];
}

/** What {@link inspectReference} found. */
export interface Inspection {
  readonly reference: string;
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly signatures: readonly InspectedSignature[];
  /**
   * Signatures in other formats found for the image (cosign `.sig` layers, Sigstore bundle
   * referrers), as they claim: whether one counts needs a policy rule (`trust verify --policy`).
   */
  readonly otherSignatures: readonly FoundSignature[];
  readonly children?: readonly { readonly digest: string; readonly mediaType: string; readonly size: number; readonly platform?: Platform; readonly signatures: readonly InspectedSignature[] }[];
  readonly trust: {
    readonly collection: string;
    readonly rootVersion: number;
    readonly targetsVersion: number;
    readonly targetsExpires: string;
    readonly rootKeyids: readonly string[];
    readonly targetsKeyids: readonly string[];
    readonly signers: readonly { readonly name: string; readonly threshold: number; readonly keyids: readonly string[]; readonly paths: readonly string[] }[];
    readonly revocations: readonly {
      readonly digest: string;
      readonly role?: string;
      readonly signature?: { readonly key: string; readonly pae: string };
      /** Legacy entries only (see lib/metadata/revocation.ts). */
      readonly envelope?: string;
      readonly reason: string;
      readonly revokedAt?: string;
    }[];
  };
}

/** Options of {@link inspectReference}. */
export interface InspectOptions {
  readonly reference: string | ImageReference;
  readonly registry: RegistryClient;
  /** Trusted metadata of the collection (after a TUF refresh). */
  readonly metadata: { readonly root: Root; readonly targets: Targets };
  readonly collection: string;
  readonly clock?: Clock;
}

/**
 * Inspects an image and its signatures.
 * @throws REFERENCE_INVALID, MANIFEST_*, REGISTRY_*
 */
export async function inspectReference(o: InspectOptions): Promise<Inspection> {
  assertArg(typeof o === 'object' && o !== null, 'options', 'InspectOptions object', o);
  const ref = referenceArg(o.reference);
  assertArg(typeof o.registry?.getManifest === 'function', 'registry', 'RegistryClient', o.registry);
  assertArg(typeof o.metadata === 'object' && o.metadata !== null && o.metadata.root instanceof Root && o.metadata.targets instanceof Targets, 'metadata', '{root: Root, targets: Targets}', o.metadata);
  if (o.clock !== undefined) assertClock(o.clock, 'clock');
  const clock = o.clock ?? systemClock;
  const { root, targets } = o.metadata;
  const trustView = trustViewFromTargets(targets, o.collection);
  const top = await o.registry.getManifest(ref, ref.digest ?? ref.tag ?? 'latest');

  const signaturesOf = async (digest: string, mediaType: string, size: number, tag: string | undefined): Promise<InspectedSignature[]> => {
    const listing = await listSignatures(o.registry, ref, digest, { complete: true });
    const { envelopes, dropped } = await collectEnvelopes(o.registry, ref, digest, listing.descriptors);
    const out: InspectedSignature[] = envelopes.map((e) => {
      const bytes = e.envelope;
      const r = verifyImage({
        reference: { repository: ref.repository, ...(tag !== undefined ? { tag } : { digest }) },
        digest,
        subject: { mediaType, size },
        envelopes: [{ bytes, digest: digestOf(bytes) }],
        trust: trustView,
        clock,
      });
      return {
        manifestDigest: e.manifestDigest,
        envelopeDigest: digestOf(bytes),
        ...describeEnvelope(bytes),
        counts: r.signatures.length > 0,
        // Threshold and "no signatures" are about the image, not about this one envelope.
        failures: r.failures.filter((f) => f.code !== 'THRESHOLD_NOT_MET' && f.code !== 'NO_SIGNATURES'),
      };
    });
    for (const d of dropped) {
      out.push({ manifestDigest: d.digest, envelopeDigest: '', keyids: [], counts: false, failures: [{ code: d.code, message: d.message }] });
    }
    return out;
  };

  const signatures = await signaturesOf(top.digest, top.mediaType, top.size, ref.tag);
  const otherSignatures = await findCosignSignatures(o.registry, ref, top.digest);
  let children: NonNullable<Inspection['children']>[number][] | undefined;
  if (isIndex(top.manifest)) {
    children = [];
    for (const d of childManifests(top.manifest).slice(0, 64)) {
      const c = await o.registry.getManifest(ref, d.digest);
      children.push({
        digest: c.digest,
        mediaType: c.mediaType,
        size: c.size,
        ...(d.platform ? { platform: d.platform } : {}),
        signatures: await signaturesOf(c.digest, c.mediaType, c.size, undefined),
      });
    }
  }
  return {
    reference: `${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}@${top.digest}`,
    repository: ref.repository,
    digest: top.digest,
    mediaType: top.mediaType,
    size: top.size,
    signatures,
    otherSignatures,
    ...(children ? { children } : {}),
    trust: {
      collection: o.collection,
      rootVersion: root.version,
      targetsVersion: targets.version,
      targetsExpires: targets.expires,
      rootKeyids: [...root.role('root').keyids],
      targetsKeyids: [...root.role('targets').keyids],
      signers: targets.roles.map((r) => ({ name: r.name, threshold: r.threshold, keyids: [...r.keyids], paths: [...r.paths] })),
      revocations: (targets.revocations ?? []).map((r) => ({
        digest: r.digest,
        reason: r.reason,
        ...(r.role !== undefined ? { role: r.role } : {}),
        ...(r.signature !== undefined ? { signature: { key: r.signature.key, pae: r.signature.pae } } : {}),
        ...(r.envelope !== undefined ? { envelope: r.envelope } : {}),
        ...(r.revokedAt !== undefined ? { revokedAt: r.revokedAt } : {}),
      })),
    },
  };
}

/** The unverified content of an envelope, for display. */
function describeEnvelope(bytes: Uint8Array): Pick<InspectedSignature, 'keyids' | 'pae' | 'role' | 'tag' | 'signedAt' | 'expires'> {
  try {
    const env = parseEnvelope(bytes);
    const keyids = env.signatures.map((s) => s.keyid ?? '').filter(Boolean);
    const pae = paeDigestOf(env);
    try {
      const st = parseStatement(env.payload);
      if (st.kind !== 'signature') return { keyids, pae };
      const p = st.signature;
      return {
        keyids,
        pae,
        role: p.role,
        signedAt: formatTime(p.signedAt),
        ...(p.tag !== undefined ? { tag: p.tag } : {}),
        ...(p.expires !== undefined ? { expires: formatTime(p.expires) } : {}),
      };
    } catch {
      return { keyids, pae };
    }
  } catch {
    return { keyids: [] };
  }
}
