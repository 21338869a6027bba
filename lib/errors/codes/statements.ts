import type { CodeTable } from '../spec.js';

/**
 * Error codes of the statements area: base64, DSSE envelopes and in-toto statements.
 * docs/errors.md is generated from this table. Inside `verify`, an envelope fetched from a
 * registry that fails with one of these codes is one failed signature (reported, exit 1
 * overall); the exit code below applies when the input was the user's own file.
 */
export const statementsCodes = {
  BASE64_MALFORMED: {
    meaning: 'A base64 field is not strict base64: junk or whitespace, mixed standard and URL-safe alphabets, wrong padding, impossible length or non-zero trailing bits.',
    action: 'Re-encode the value with a standard base64 encoder; if it came from a registry, treat the envelope as tampered.',
    exit: 2,
    http: 400,
  },
  ENVELOPE_MALFORMED: {
    meaning: 'A DSSE envelope does not have the DSSE v1 shape: payload, payloadType and a non-empty signatures list of {keyid, sig}.',
    action: 'Regenerate the envelope with a DSSE v1 implementation; if it came from a registry, treat it as tampered.',
    exit: 2,
    http: 400,
  },
  PAYLOAD_TYPE_UNSUPPORTED: {
    meaning: 'The DSSE payloadType is not application/vnd.in-toto+json, the only payload type ocitrust verifies.',
    action: 'Sign an in-toto Statement v1; envelopes of other payload types are never counted.',
    exit: 2,
    http: 415,
  },
  STATEMENT_MALFORMED: {
    meaning: 'The signed payload is not a valid in-toto Statement v1, or its ocitrust signature predicate is missing a field or has an invalid one.',
    action: 'Re-sign with ocitrust; if the envelope came from a registry, treat it as tampered.',
    exit: 2,
    http: 400,
  },
  SIG_INVALID: {
    meaning: 'No signature in the DSSE envelope verifies with the key its keyid names (or with any trusted key): the payload or signature was altered, or signed with another key.',
    action: 'Treat the signature as forged or corrupted; re-sign the image if it is yours.',
    exit: 1,
    http: 422,
  },
} as const satisfies CodeTable;
