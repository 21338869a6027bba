/**
 * `oci-layout:PATH[:REF|@DIGEST]` references (issue 17), parsed in this one place. As with
 * skopeo's `oci:` transport, the first `:` after PATH separates the path from the ref name, so
 * the ref may itself be a full reference (`oci-layout:/media/x.tar:registry.example.com/app:v1`);
 * a short ref (`v1`) matches the tag of the one image saved under it.
 */
import { OcitrustError, assertArg } from '../errors/index.js';
import { isDigest } from '../crypto/hash.js';
import type { ImageReference } from '../reference.js';
import { parseReference } from '../reference.js';
import { entryName } from './layout-client.js';
import type { OciLayout } from './layout.js';
import { LAYOUT_SCHEME, isLayoutReference } from './layout-scheme.js';

export { LAYOUT_SCHEME, isLayoutReference } from './layout-scheme.js';

/** A parsed layout reference. */
export interface LayoutReference {
  /** Folder or .tar file. */
  readonly path: string;
  /** Ref name (a full reference or a tag), when given. */
  readonly ref?: string;
  /** Manifest digest, when given. */
  readonly digest?: string;
}

function bad(input: string, why: string): never {
  throw new OcitrustError('LAYOUT_REFERENCE_INVALID', `invalid layout reference ${JSON.stringify(input.slice(0, 200))}: ${why}; expected oci-layout:PATH[:REF|@sha256:…]`);
}

/**
 * Parses `oci-layout:PATH[:REF|@DIGEST]`.
 * @throws LAYOUT_REFERENCE_INVALID
 * @example parseLayoutReference('oci-layout:/tmp/x.tar:v1') // { path: '/tmp/x.tar', ref: 'v1' }
 */
export function parseLayoutReference(input: string): LayoutReference {
  assertArg(typeof input === 'string', 'reference', 'an oci-layout:PATH[:REF|@DIGEST] string', input);
  if (!isLayoutReference(input)) bad(input, `it does not start with ${LAYOUT_SCHEME}`);
  const rest = input.slice(LAYOUT_SCHEME.length);
  if (rest.length > 4096) bad(input, 'longer than 4096 characters');
  const at = /^(.*)@((?:sha256|sha512):[0-9a-f]+)$/.exec(rest);
  if (at) {
    if (!isDigest(at[2])) bad(input, `${at[2]!.slice(0, 80)} is not a valid digest`);
    if (at[1]!.length === 0 || at[1]!.includes(':')) bad(input, 'with a digest, PATH must be given and contain no ":"');
    return { path: at[1]!, digest: at[2]! };
  }
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const ref = colon < 0 ? undefined : rest.slice(colon + 1);
  if (path.length === 0) bad(input, 'PATH is empty');
  if (ref !== undefined && !/^[A-Za-z0-9._:@/+-]{1,512}$/.test(ref)) bad(input, 'REF must be 1–512 characters of A-Za-z0-9 and ._:@/+-');
  return { path, ...(ref !== undefined ? { ref } : {}) };
}

/** An image of a layout: its reference (repository, tag, digest) as saved. */
export interface LayoutImage {
  readonly reference: ImageReference;
  readonly digest: string;
}

/**
 * Tags of the referrers tag schema and cosign's tag schema (`sha256-<hex>`, `sha256-<hex>.sig`,
 * `.att`, …): artifacts about an image, saved with it by `trust save`, not images of their own.
 */
const TAG_SCHEMA = /^sha(?:256|512)-[0-9a-f]{64}(?:[0-9a-f]{64})?(?:\..+)?$/;

/** Every named image in a layout (entries whose name is a full reference; not tag-schema artifacts). */
export async function layoutImages(layout: OciLayout): Promise<LayoutImage[]> {
  const out: LayoutImage[] = [];
  for (const d of (await layout.index()).manifests) {
    const n = entryName(d);
    if (!n || !('repository' in n) || TAG_SCHEMA.test(n.tag)) continue;
    out.push({ reference: { ...parseReference(`${n.repository}:${n.tag}`), digest: d.digest }, digest: d.digest });
  }
  return out;
}

/**
 * The image a layout reference names: the entry whose name is REF, else the one image saved
 * with tag REF, else (no REF) the only image; with @DIGEST, the named entry with that digest.
 * The reference keeps the tag (for tag binding) and is pinned to the digest of the entry.
 * @throws LAYOUT_REFERENCE_INVALID (no match, several, or a name without a repository)
 */
export async function resolveLayoutImage(layout: OciLayout, lref: LayoutReference): Promise<LayoutImage> {
  assertArg(typeof layout === 'object' && layout !== null && typeof (layout as OciLayout).index === 'function', 'layout', 'an OciLayout (OciLayout.open)', layout);
  assertArg(typeof lref === 'object' && lref !== null && typeof lref.path === 'string', 'reference', 'a LayoutReference (parseLayoutReference)', lref);
  const images = await layoutImages(layout);
  const shown = `${LAYOUT_SCHEME}${lref.path}${lref.digest ? `@${lref.digest}` : lref.ref ? `:${lref.ref}` : ''}`;
  let found: LayoutImage[];
  if (lref.digest) found = images.filter((i) => i.digest === lref.digest);
  else if (lref.ref === undefined) found = images;
  else {
    const exact = images.filter((i) => `${i.reference.repository}:${i.reference.tag}` === lref.ref);
    found = exact.length > 0 ? exact : images.filter((i) => i.reference.tag === lref.ref);
  }
  // One manifest saved under several names counts once when a digest asked for it.
  if (lref.digest && found.length > 1) found = [found[0]!];
  if (found.length === 1) return found[0]!;
  const names = images.map((i) => `${i.reference.repository}:${i.reference.tag}`).slice(0, 20).join(', ') || 'none';
  if (found.length === 0) {
    const bare = (await layout.index()).manifests.some((d) => d.annotations?.['org.opencontainers.image.ref.name'] === lref.ref);
    if (bare) bad(shown, `ref name ${lref.ref} names no repository (a layout written by another tool); the collection and statements of an image are named by its repository: save it with \`trust save\``);
    bad(shown, `no image matches in the layout (images: ${names})`);
  }
  return bad(shown, `${found.length} images match (${found.map((i) => `${i.reference.repository}:${i.reference.tag}`).join(', ')}); name one as REPOSITORY:TAG`);
}
