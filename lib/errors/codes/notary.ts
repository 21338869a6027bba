import type { CodeTable } from '../spec.js';

/**
 * Error codes of the notary area: verifying Docker Content Trust (Notary v1) data (lib/notary)
 * where the tuf area's codes (threshold, expiry, rollback, hashes) do not fit.
 * docs/errors.md is generated from this table.
 */
export const notaryCodes = {
  NOTARY_NO_TRUST_DATA: {
    meaning: 'The Notary server has no trust data for the repository (GUN): nothing was ever signed for it with `docker trust sign` / `notary publish`.',
    action: 'Check the repository name and the Notary server URL; sign the image (or remove the notaryV1 requirement from the rule).',
    exit: 1,
    http: 404,
  },
  NOTARY_NOT_A_SERVER: {
    meaning: 'The URL given as the Notary server answered, but not as a Notary server: not TUF metadata in Notary\'s JSON form, or a document of another role.',
    action: 'Check the notaryV1 server URL (Docker Hub\'s is https://notary.docker.io); the message says what was answered.',
    exit: 3,
    http: 502,
  },
  NOTARY_AUTH_FAILED: {
    meaning: 'The Notary server refused the request for trust data (401 or 403).',
    action: 'Give the Notary server credentials the repository grants read access to, or check that the repository is public.',
    exit: 3,
    http: 502,
  },
  NOTARY_METADATA_INVALID: {
    meaning: 'A Notary metadata document is signed JSON of the expected role but its content is malformed: a missing or mistyped field, an unknown key type, a bad hash or date.',
    action: 'Treat the repository\'s trust data as tampered or corrupt; re-publish it with the notary client.',
    exit: 1,
    http: 422,
  },
  NOTARY_ROOT_NOT_TRUSTED: {
    meaning: 'The Notary repository\'s root is not the pinned one: no root version is signed by the pinned root key (certificate) or chains to the pinned root.json.',
    action: 'Compare the pinned root with the repository owner\'s (`notary -s URL list GUN` prints nothing about it; ask the owner for the root certificate); if the repository was re-created with a new root key, pin the new one.',
    exit: 1,
    http: 422,
  },
  NOTARY_ROOT_FILE_INVALID: {
    meaning: 'The pinned Notary root file is neither a PEM certificate (the root key\'s x509 certificate) nor a Notary root.json.',
    action: 'Pin the root certificate (`-----BEGIN CERTIFICATE-----`) or a root.json downloaded from the Notary server and checked out of band.',
    exit: 2,
    http: 400,
  },
  NOTARY_DELEGATION_MISSING: {
    meaning: 'A delegation the rule requires (default targets/releases, which `docker trust sign` signs into) does not exist in the repository or has no published metadata.',
    action: 'Add a signer (`docker trust signer add`) and sign the tag, or change the rule\'s requiredDelegations.',
    exit: 1,
    http: 422,
  },
  NOTARY_TARGET_MISSING: {
    meaning: 'The image\'s tag is not a signed target in a required Notary delegation (or the image was referenced by digest alone: Notary signs tags).',
    action: 'Sign the tag (`docker trust sign REPO:TAG`), or deploy a tag that is signed.',
    exit: 1,
    http: 422,
  },
  NOTARY_TARGET_MISMATCH: {
    meaning: 'The tag\'s signed Notary target does not match the manifest in the registry: another SHA-256 or another size (the tag was moved after it was signed).',
    action: 'Re-sign the tag for the manifest it now names, or deploy the digest that was signed.',
    exit: 1,
    http: 422,
  },
} as const satisfies CodeTable;
