/**
 * Which manifests pull enforcement must verify. A container runtime runs only image manifests
 * whose config is an image config (OCI or Docker); everything else in a repository is an
 * artifact (signatures, SBOMs, the referrers fallback index) that verifiers and signers must
 * be able to read through an enforcing proxy, or no one could ever check a signature there.
 *
 * An image manifest with a `subject` is still an image: only the config media type counts,
 * so pushing a runnable image "as a referrer" does not get it past enforcement.
 */
import { DOCKER_CONFIG, OCI_CONFIG, isIndex, type Manifest } from '../../lib/oci/types.js';

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
