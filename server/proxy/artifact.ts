/**
 * Which manifests pull enforcement must verify. A container runtime runs only image manifests
 * whose config is an image config (OCI or Docker); everything else in a repository is an
 * artifact (signatures, SBOMs, the referrers fallback index) that verifiers and signers must
 * be able to read through an enforcing proxy, or no one could ever check a signature there.
 *
 * An image manifest with a `subject` is still an image: only the config media type counts,
 * so pushing a runnable image "as a referrer" does not get it past enforcement.
 */
import { parseServed, type FetchedManifest } from '../../lib/oci/client.js';
import { DOCKER_CONFIG, OCI_CONFIG, isIndex, manifestMediaType, parseManifest, type Manifest } from '../../lib/oci/types.js';
import type { DecideContext } from './options.js';

/** Config media types of runnable images (image-spec config.md; Docker image v1 config). */
export const RUNNABLE_CONFIG_TYPES: readonly string[] = Object.freeze([OCI_CONFIG, DOCKER_CONFIG]);

/**
 * `image`: a runnable image manifest; `index`: an index that may list runnable images;
 * `artifact`: neither, served without verification.
 *
 * An index counts as an artifact only when every entry declares an `artifactType` (the
 * referrers fallback index does; image indexes do not). A false `artifactType` on an entry
 * gains nothing: the entry's own manifest is enforced when the client fetches it.
 */
export function classifyManifest(m: Manifest): 'image' | 'index' | 'artifact' {
  if (isIndex(m)) {
    const entries = m.manifests;
    return entries.length > 0 && entries.every((d) => typeof d.artifactType === 'string' && d.artifactType !== '') ? 'artifact' : 'index';
  }
  return RUNNABLE_CONFIG_TYPES.includes(m.config.mediaType) ? 'image' : 'artifact';
}

/**
 * The manifest a pull asks about, parsed once per digest and media type (the digest is computed
 * from the bytes, so a hit is the same bytes): a runnable image or index as the gate takes it,
 * or `'artifact'`. Junk bytes are the upstream's bad answer ("could not verify"), not a verdict.
 */
export class ServedManifests {
  readonly #parsed = new Map<string, FetchedManifest | 'artifact'>();
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** @throws REGISTRY_BAD_RESPONSE (or a MANIFEST_* code) for bytes that are no manifest */
  get(ctx: DecideContext): FetchedManifest | 'artifact' {
    const k = `${ctx.digest} ${ctx.mediaType}`;
    let hit = this.#parsed.get(k);
    if (hit === undefined) {
      const what = `manifest ${ctx.repository}@${ctx.digest}`;
      const manifest = parseServed(what, 'a JSON image manifest or index', ctx.manifestBytes, () => parseManifest(ctx.manifestBytes, { contentType: ctx.mediaType, maxBytes: this.#maxBytes, what }));
      hit = classifyManifest(manifest) === 'artifact' ? 'artifact' : { bytes: ctx.manifestBytes, digest: ctx.digest, size: ctx.manifestBytes.length, mediaType: manifestMediaType(manifest), manifest };
      if (this.#parsed.size >= 1000) this.#parsed.clear();
      this.#parsed.set(k, hit);
    }
    return hit;
  }
}
