import type { CodeTable } from '../spec.js';

/**
 * Error codes of the airgap area (issue 17): OCI image layouts used as a registry, layout tars,
 * trust bundles carried inside a layout, and the `--offline` network guard. A layout is
 * untrusted input like a registry: content that disagrees with its digest is exit 1.
 */
export const airgapCodes = {
  LAYOUT_INVALID: {
    meaning: 'A path given as an OCI image layout is not one: no `oci-layout` file with imageLayoutVersion 1.0.0, or an index.json that is missing, malformed or too large.',
    action: 'Name a folder (or .tar) written by `trust save`, skopeo or another tool that writes OCI image layouts.',
    exit: 2,
    http: 400,
  },
  LAYOUT_REFERENCE_INVALID: {
    meaning: 'An `oci-layout:PATH[:REF|@DIGEST]` reference is malformed, or its REF matches no image (or more than one) in the layout.',
    action: 'Use `oci-layout:PATH:REF` with a ref name from the layout\'s index.json (`trust inspect oci-layout:PATH` lists them) or `oci-layout:PATH@sha256:…`.',
    exit: 2,
    http: 400,
  },
  LAYOUT_BLOB_MISSING: {
    meaning: 'A blob the layout\'s manifests refer to is not in blobs/<alg>/.',
    action: 'The layout is incomplete: save it again; do not use a partially copied layout.',
    exit: 2,
    http: 404,
  },
  LAYOUT_BLOB_MISMATCH: {
    meaning: 'A blob of the layout does not hash to the digest it is stored under, or has another size than its descriptor says.',
    action: 'The layout was altered or damaged after it was written; do not use it and investigate.',
    exit: 1,
    http: 502,
  },
  LAYOUT_TOO_LARGE: {
    meaning: 'A layout, a tar or one of their entries exceeds a size or count bound.',
    action: 'Split the transfer into several layouts, or raise the bound if the content is expected.',
    exit: 2,
    http: 413,
  },
  TAR_INVALID: {
    meaning: 'A tar archive is malformed: a bad header checksum, an unsupported entry type, an unsafe path (absolute, `..`) or a duplicate name.',
    action: 'Write the archive again with `trust save -o FILE.tar` (or POSIX `tar`); ocitrust reads ustar and pax archives of regular files and folders.',
    exit: 2,
    http: 400,
  },
  TAR_TRUNCATED: {
    meaning: 'A tar archive ends before its last entry or its end-of-archive blocks: the file was cut off in transfer.',
    action: 'Copy the archive again completely (compare its SHA-256 on both sides); nothing was imported from it.',
    exit: 2,
    http: 400,
  },
  BUNDLE_TRUST_MISSING: {
    meaning: 'The layout carries no trust data (TUF metadata) for the collection an image needs.',
    action: 'Save the image with `trust save` (it adds the trust data of each collection), or name the right collection with --collection.',
    exit: 2,
    http: 400,
  },
  BUNDLE_COLLECTION_MISMATCH: {
    meaning: 'The trust data of a bundle does not belong to the collection it is imported or verified as: its roots do not chain from the collection\'s trusted root.',
    action: 'Check that the bundle was saved from the trust server and collection you expect; the trusted state was left unchanged.',
    exit: 1,
    http: 409,
  },
  BUNDLE_TOO_OLD: {
    meaning: 'A bundle\'s trust data expired longer ago than the explicitly allowed `--bundle-max-age`, or its timestamp expired and no bundle age was allowed.',
    action: 'Carry a fresher bundle across (`trust save` again outside), or allow a longer, stated period with --bundle-max-age (at most 30d).',
    exit: 1,
    http: 409,
  },
  MIRROR_READ_ONLY: {
    meaning: 'A collection is a read-only mirror imported from a bundle (`trust server import`), so it cannot be published to; or a bundle was imported over a collection this server signs itself.',
    action: 'Publish on the trust server the mirror was saved from and import the next bundle; or import under a collection name this server does not own.',
    exit: 2,
    http: 409,
  },
  OFFLINE_NETWORK_ATTEMPT: {
    meaning: 'With --offline, something tried to open a network connection or resolve a host name that --offline does not allow (with a layout input: any; with registry references: any but the images\' registries, their token realm and first redirect); ocitrust refused it.',
    action: 'Remove --offline to allow network use, or give everything the command needs locally (an oci-layout: reference, a pinned root, cached trust data); the message names the refused host and what was allowed (docs/airgap.md).',
    exit: 3,
    http: 500,
  },
} as const satisfies CodeTable;
