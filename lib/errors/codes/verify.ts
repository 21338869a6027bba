import type { CodeTable } from '../spec.js';

/**
 * Error codes of the verify area (DESIGN §5 steps 4–7). Each is one reason why a signature did
 * not count or why the policy was not met; a VerifyResult lists every one that occurred.
 * docs/errors.md is generated from this table.
 */
export const verifyCodes = {
  TRUST_EXPIRED: {
    meaning: 'The trusted targets metadata handed to the verifier has expired (TUF freeze protection), so no signature can be trusted.',
    action: 'Refresh trust metadata from the trust server; if it stays expired, ask the collection owner to re-sign targets.',
    exit: 1,
    http: 422,
  },
  REFERENCE_DIGEST_MISMATCH: {
    meaning: 'The reference pins a digest, but the manifest that was resolved has another digest.',
    action: 'Check the reference; a registry serving other content for a digest is tampered or broken.',
    exit: 1,
    http: 422,
  },
  ENVELOPE_DIGEST_MISMATCH: {
    meaning: 'A signature envelope\'s bytes do not hash to the digest it was fetched under.',
    action: 'Treat the registry copy as tampered; the envelope was not counted.',
    exit: 1,
    http: 422,
  },
  SIGNATURE_LIMIT_EXCEEDED: {
    meaning: 'More signature envelopes were found than the policy\'s maxSignatures; only the first ones were examined.',
    action: 'Remove stale signatures (or revoke them) or raise maxSignatures in the policy.',
    exit: 1,
    http: 422,
  },
  SIG_KEY_NOT_DELEGATED: {
    meaning: 'The envelope is signed by a key that the current targets metadata does not delegate (an unknown signer, or one whose key was removed).',
    action: 'Add the signer with `trust signer add` if it should be trusted; otherwise the signature is rightly ignored.',
    exit: 1,
    http: 422,
  },
  SIG_ROLE_UNKNOWN: {
    meaning: 'The statement names a signer role that the current targets metadata does not delegate.',
    action: 'Sign with a delegated role name, or add the role with `trust signer add`.',
    exit: 1,
    http: 422,
  },
  SIG_KEY_NOT_IN_ROLE: {
    meaning: 'The key that verified the envelope is delegated, but not to the role the statement names; a signature counts only for its own role.',
    action: 'Sign with the role that holds your key, or add the key to that role.',
    exit: 1,
    http: 422,
  },
  STATEMENT_SUBJECT_MISMATCH: {
    meaning: 'The statement\'s subject names another repository than the image being verified (after any identity remap the policy allows).',
    action: 'A signature for another repository does not vouch for this one; sign this repository, or configure identityRemap for a mirror.',
    exit: 1,
    http: 422,
  },
  STATEMENT_DIGEST_MISMATCH: {
    meaning: 'The statement\'s subject digest differs from the digest the reference resolved to.',
    action: 'The signature is for other content; sign the current digest if it is intended.',
    exit: 1,
    http: 422,
  },
  STATEMENT_DESCRIPTOR_MISMATCH: {
    meaning: 'The statement\'s predicate records another mediaType or size for the subject than the resolved manifest has.',
    action: 'Treat the signature as made for a different manifest; re-sign the image.',
    exit: 1,
    http: 422,
  },
  STATEMENT_TAG_MISMATCH: {
    meaning: 'The policy binds tags and the statement does not vouch for the tag being verified.',
    action: 'Sign the digest with this tag (`trust sign <repo>:<tag>`), or verify by the tag that was signed.',
    exit: 1,
    http: 422,
  },
  STATEMENT_EXPIRED: {
    meaning: 'The statement\'s `expires` time has passed.',
    action: 'Re-sign the image if it is still vouched for.',
    exit: 1,
    http: 422,
  },
  STATEMENT_FUTURE: {
    meaning: 'The statement\'s `signedAt` lies in the future by more than the allowed clock skew.',
    action: 'Check the signer\'s and the verifier\'s clocks; re-sign with a correct time.',
    exit: 1,
    http: 422,
  },
  SIG_PATH_NOT_COVERED: {
    meaning: 'The delegation `paths` of the signer\'s role do not cover the image\'s target path (`<repository>:<tag>` or `<repository>@<digest>`), or an earlier terminating delegation claims that path.',
    action: 'Sign with a role delegated for this repository, or extend the role\'s paths.',
    exit: 1,
    http: 422,
  },
  SIG_REVOKED: {
    meaning: 'The targets metadata revokes this signature: by subject digest, by role for that digest, or as one signature (the key that made it and the DSSE PAE it signed, whatever the envelope\'s encoding; legacy entries by envelope digest are honoured too).',
    action: 'The signature is withdrawn; sign again only if the image should be trusted again.',
    exit: 1,
    http: 422,
  },
  NO_SIGNATURES: {
    meaning: 'No valid signature was found for the image: none was listed, or none of those listed counted.',
    action: 'Sign the image (`trust sign`), or read the other failures to see why the listed ones were rejected.',
    exit: 1,
    http: 422,
  },
  NOT_SIGNED: {
    meaning: 'The image\'s repository has no trust collection on the trust server: nothing is signed there, so the image is not verified. A verdict, not an input error.',
    action: 'Sign the image\'s repository (`trust init`, `trust signer add`, `trust sign`), or check the collection name, the policy rule and the server URL.',
    exit: 1,
    http: 422,
  },
  THRESHOLD_NOT_MET: {
    meaning: 'A role has valid signatures, but from fewer distinct keys than its threshold.',
    action: 'Have more of the role\'s key holders sign the image.',
    exit: 1,
    http: 422,
  },
  REQUIRED_ROLE_MISSING: {
    meaning: 'The policy requires a role (all of / any of) that has not met its threshold for this image.',
    action: 'Have the required role sign the image, or change the policy\'s requiredRoles.',
    exit: 1,
    http: 422,
  },
  REQUIREMENTS_NOT_MET: {
    meaning: 'A rule names several signature sources (ocitrust, notaryV1, cosign, notation) and fewer of them verified than its `require:` asks for.',
    action: 'Sign the image in the missing formats, or change the rule\'s `require:`; the other failures say why each source did not verify.',
    exit: 1,
    http: 422,
  },
  CHILD_NOT_VERIFIED: {
    meaning: 'The policy requires child manifests of a multi-architecture index to verify, and one did not.',
    action: 'Sign the children (`trust sign --recursive`) or relax the multiArch policy.',
    exit: 1,
    http: 422,
  },
  CHILD_MISSING: {
    meaning: 'The policy requires child manifests of a multi-architecture index to verify, and no result was given for one (or for any).',
    action: 'Verify with the child manifests available; check that the platform being deployed exists in the index.',
    exit: 1,
    http: 422,
  },
} as const satisfies CodeTable;
