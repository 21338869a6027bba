import type { CodeTable } from '../spec.js';

/**
 * Error codes of the metadata area: parsing and building TUF trust metadata (root, targets,
 * snapshot, timestamp). docs/errors.md is generated from this table.
 */
export const metadataCodes = {
  METADATA_INVALID: {
    meaning: 'A TUF metadata document is malformed: a field is missing, has the wrong type or an invalid value (version, expires, keyid, hash, digest).',
    action: 'Regenerate the metadata with ocitrust or a TUF 1.0 implementation; if it came from a server, treat it as tampered.',
    exit: 2,
    http: 400,
  },
  METADATA_TYPE_MISMATCH: {
    meaning: 'A TUF metadata document has a different `_type` than the role it was loaded as (for example a timestamp served as snapshot).',
    action: 'Check the file or the server layout; a server answering with the wrong role is misconfigured or tampered.',
    exit: 1,
    http: 422,
  },
  METADATA_SPEC_VERSION_UNSUPPORTED: {
    meaning: 'The `spec_version` of a TUF metadata document is not 1.0.x.',
    action: 'Use metadata written for TUF specification 1.0.',
    exit: 2,
    http: 400,
  },
  METADATA_KEYID_MISMATCH: {
    meaning: 'A keyid in a `keys` dictionary is not the SHA-256 of the canonical form of its key object (TUF requires clients to recompute it).',
    action: 'Treat the metadata as tampered; a key may not claim another key\'s identity. Regenerate it if it is your own.',
    exit: 1,
    http: 422,
  },
  METADATA_DUPLICATE_KEYID: {
    meaning: 'A keyid appears twice in `signatures` or in a role\'s `keyids`; TUF forbids this, and ocitrust refuses it instead of counting it once.',
    action: 'Treat the metadata as tampered; each key may sign once and be listed once per role.',
    exit: 1,
    http: 422,
  },
  METADATA_DUPLICATE_KEY: {
    meaning: 'A role lists one public key under two keyids (a keyid hashes the key object as spelled, so extra fields give the same key another keyid); thresholds count keys, not keyids, and such metadata is refused.',
    action: 'List each key once per role. If the metadata came from a server, treat it as tampered.',
    // Exit 1: a verifier that meets it says "not verified" (bad trust metadata), as for a keyid
    // mismatch; a server refuses a publish carrying it as the client's mistake (400).
    exit: 1,
    http: 400,
  },
  METADATA_THRESHOLD_INVALID: {
    meaning: 'A role threshold is not an integer between 1 and the number of its keyids.',
    action: 'Fix the role: give it at least as many keys as its threshold.',
    exit: 2,
    http: 400,
  },
  METADATA_ROLE_NAME_INVALID: {
    meaning: 'A delegated role name is empty, unsafe (only letters, digits, `.`, `_`, `-`; no leading dot; at most 64 characters), reserved (root, targets, snapshot, timestamp — in any case; `releases` only spelled in lowercase) or used twice (role names are compared regardless of case: `Alice` next to `alice` is one name twice).',
    action: 'Choose another signer name.',
    exit: 2,
    http: 400,
  },
  METADATA_UNSUPPORTED: {
    meaning: 'The metadata uses a TUF feature ocitrust does not support: `path_hash_prefixes` or `succinct_roles` delegations, or `consistent_snapshot: false`.',
    action: 'Use `paths` delegations and consistent snapshots (ocitrust writes both this way).',
    exit: 2,
    http: 400,
  },
  METADATA_ROLE_NOT_FOUND: {
    meaning: 'The named role is not delegated (or not a top-level role) in this metadata.',
    action: 'Check the signer name; `trust signer list` shows the delegated roles.',
    exit: 2,
    http: 404,
  },
} as const satisfies CodeTable;
