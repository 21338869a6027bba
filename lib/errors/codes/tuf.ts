import type { CodeTable } from '../spec.js';

/**
 * Error codes of the tuf area: the TUF client workflow (tuf-spec "Detailed client workflow"
 * 5.1–5.6), metadata sources and the trust cache. docs/errors.md is generated from this table.
 */
export const tufCodes = {
  TUF_THRESHOLD_NOT_MET: {
    meaning: 'Fewer distinct delegated keys produced valid signatures over the metadata than the role\'s threshold requires (signatures by undelegated keys do not count).',
    action: 'Sign with enough of the role\'s keys; if you did, treat the metadata as tampered.',
    exit: 1,
    http: 422,
  },
  TUF_ROOT_ROTATION_INVALID: {
    meaning: 'A new root version is not signed by a threshold of the previous root\'s keys and of its own keys, or does not step the version by exactly one (TUF 5.3.4–5.3.5).',
    action: 'Sign the new root with a threshold of both the old and the new root keys; if you did not publish it, the server is compromised.',
    exit: 1,
    http: 422,
  },
  TUF_ROOT_CHAIN_TOO_LONG: {
    meaning: 'More root versions are published than the client walks in one refresh (limits.maxRootRotations).',
    action: 'Update the pinned root of the trust configuration to a recent version, or raise the limit.',
    exit: 1,
    http: 422,
  },
  TUF_ROLLBACK: {
    meaning: 'Metadata has a lower version than one the client already trusts (timestamp, the snapshot version it names, or a targets version in snapshot) — a rollback attack (TUF 5.4.3, 5.5.5).',
    action: 'Do not trust the server\'s answer; report it. Clear the trust cache only if the collection was deliberately re-created.',
    exit: 1,
    http: 422,
  },
  TUF_VERSION_MISMATCH: {
    meaning: 'Metadata does not have the version its parent names: snapshot vs. the timestamp\'s snapshot entry, or targets vs. the snapshot\'s targets entry (TUF 5.5.4, 5.6.4).',
    action: 'The repository is inconsistent or tampered; retry later, then report it to the server operator.',
    exit: 1,
    http: 422,
  },
  TUF_EXPIRED: {
    meaning: 'Trusted metadata has expired (freeze attack protection, TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5).',
    action: 'Ask the collection owner or server to re-sign (the server re-signs timestamp and snapshot); check the local clock.',
    exit: 1,
    http: 422,
  },
  TUF_HASH_MISMATCH: {
    meaning: 'Metadata bytes do not match the hash its parent metadata records for them (TUF 5.5.2).',
    action: 'Treat the served metadata as tampered.',
    exit: 1,
    http: 422,
  },
  TUF_LENGTH_MISMATCH: {
    meaning: 'Metadata bytes do not have the length its parent metadata records for them (TUF 5.5.2).',
    action: 'Treat the served metadata as tampered.',
    exit: 1,
    http: 422,
  },
  TUF_METADATA_MISSING: {
    meaning: 'The metadata source has no timestamp, or lacks the snapshot or targets version the trusted metadata names: no usable trust data for the collection.',
    action: 'Check the collection name and server URL; initialize the collection (`trust init`) if it does not exist yet.',
    exit: 1,
    http: 404,
  },
  TRUST_PIN_MISMATCH: {
    meaning: 'The pinned root (--root, a policy rule\'s root, the stored pin) does not mean the same as the root of that version in the chain this client already trusts for the collection on this server: other keys or thresholds. Persisted trust state is never reset by a pin; the message names both key fingerprints.',
    action: 'Check the pinned root against the collection owner\'s. If the collection was deliberately re-created with new keys, remove its trusted state (CLI: its file under <home>/trust/) and pin the new root.',
    exit: 2,
    http: 409,
  },
  TRUST_ROOT_NOT_PINNED: {
    meaning: 'A service that decides for others (admission webhooks, verifying proxy) was asked to trust a remote trust server\'s collection without a pinned root; it never trusts a remote root on first use.',
    action: 'Export the root on a machine that trusts it (`trust root export <collection> > root.json`), compare its fingerprint out of band, and set `root: root.json` in the policy rule.',
    exit: 2,
    http: 500,
  },
  TUF_SOURCE_UNREACHABLE: {
    meaning: 'The trust metadata source could not be read: network error, connection refused, DNS failure or local I/O error.',
    action: 'Check the server URL, network and proxy settings (or the metadata directory), then retry.',
    exit: 3,
    http: 502,
  },
  TUF_SOURCE_TIMEOUT: {
    meaning: 'A request for trust metadata did not complete within the request timeout.',
    action: 'Retry; raise limits.requestTimeoutMs if the server is slow but reachable.',
    exit: 3,
    http: 504,
  },
  TUF_SOURCE_BAD_RESPONSE: {
    meaning: 'The trust metadata source answered with something that is not metadata: not JSON, not the shape of the role, larger than the limit for it, or unsupported. The metadata the user pinned or asked for is not at fault.',
    action: 'Check that --server points at an ocitrust trust server and that nothing between rewrites its answers; retry. Signatures that do not verify are reported as such, not with this code.',
    exit: 3,
    http: 502,
  },
  TUF_SOURCE_HTTP_ERROR: {
    meaning: 'The trust server answered a metadata request with an unexpected HTTP status (not 200 or 404).',
    action: 'Check the server\'s health and your credentials; the message names the status.',
    exit: 3,
    http: 502,
  },
  TUF_CACHE_STALE: {
    meaning: 'Fresh trust metadata could not be fetched and the cached copy may not be used: it is missing, expired or older than the maximum cache age.',
    action: 'Restore connectivity to the trust server, or raise the maximum cache age in the policy if offline use is intended.',
    exit: 3,
    http: 503,
  },
  TUF_CACHE_IO: {
    meaning: 'The local trust cache could not be read or written.',
    action: 'Check permissions and free space of the ocitrust home directory.',
    exit: 3,
    http: 500,
  },
} as const satisfies CodeTable;
