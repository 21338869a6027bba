import type { CodeTable } from '../spec.js';

/**
 * Error codes of keys held outside ocitrust: PKCS#11 tokens (HSMs, smart cards, SoftHSM) and
 * signer plugins (KMS). Add entries here; docs/errors.md is generated from them.
 */
export const signersCodes = {
  KEY_REFERENCE_INVALID: {
    meaning: 'A key reference is neither a key store name, a pkcs11: URI nor a plugin:NAME:KEYREF reference, or a key store reference file is malformed.',
    action: 'Use a key name, `pkcs11:token=…;object=…?module-path=…` (RFC 7512) or `plugin:NAME:KEYREF` (docs/hardware-keys.md).',
    exit: 2,
    http: 400,
  },
  PKCS11_URI_INVALID: {
    meaning: 'A pkcs11: URI does not parse under RFC 7512 (unknown or repeated attribute, bad percent-encoding, a PIN in the URI).',
    action: 'Fix the URI (docs/hardware-keys.md); give the PIN with --pin-file or OCITRUST_PKCS11_PIN, never in the URI.',
    exit: 2,
    http: 400,
  },
  PKCS11_MODULE_MISSING: {
    meaning: 'A pkcs11: URI names no module (no module-path query attribute) and OCITRUST_PKCS11_MODULE is not set.',
    action: 'Add ?module-path=/usr/lib/softhsm/libsofthsm2.so (or your vendor\'s module) to the URI, or set OCITRUST_PKCS11_MODULE.',
    exit: 2,
    http: 400,
  },
  PKCS11_MODULE_LOAD_FAILED: {
    meaning: 'The PKCS#11 module could not be loaded or initialized (no such file, not a PKCS#11 library, or its configuration is broken).',
    action: 'Check the module path (e.g. `dpkg -L libsofthsm2`), that it matches this machine\'s architecture, and its configuration (SOFTHSM2_CONF for SoftHSM).',
    exit: 3,
    http: 503,
  },
  PKCS11_TOKEN_NOT_FOUND: {
    meaning: 'No token present in the module matches the URI\'s token attributes (token, manufacturer, serial, model, slot-id), or several do.',
    action: 'Plug in the token or check its label (`softhsm2-util --show-slots`, `pkcs11-tool -L`); make the URI name exactly one token.',
    exit: 3,
    http: 503,
  },
  PKCS11_PIN_MISSING: {
    meaning: 'The token needs a user PIN, but none was given in a file or the environment and there is no terminal to ask on.',
    action: 'Pass --pin-file FILE or set OCITRUST_PKCS11_PIN (never put the PIN on the command line).',
    exit: 2,
    http: 400,
  },
  PKCS11_PIN_INCORRECT: {
    meaning: 'The token refused the user PIN (wrong PIN), or the PIN is locked after too many wrong tries.',
    action: 'Check the PIN in --pin-file / OCITRUST_PKCS11_PIN; a locked PIN must be reset by the token\'s security officer.',
    exit: 2,
    http: 400,
  },
  PKCS11_OBJECT_NOT_FOUND: {
    meaning: 'The token has no key pair matching the URI\'s object/id attributes (or several match).',
    action: 'Check the object label and id in the URI (`pkcs11-tool --list-objects`), or generate one with `trust key generate --pkcs11 URI`.',
    exit: 2,
    http: 400,
  },
  PKCS11_OBJECT_EXISTS: {
    meaning: 'A key with the URI\'s object label (or id) is already in the token; generating would make an ambiguous second one.',
    action: 'Choose another object label, or use the existing key (`trust key add URI`).',
    exit: 2,
    http: 400,
  },
  PKCS11_KEY_TYPE_UNSUPPORTED: {
    meaning: 'The object the URI names is not an ECDSA P-256 or Ed25519 key pair (an RSA key, another curve, a secret key, a certificate).',
    action: 'Point the URI at an EC P-256 or Ed25519 key pair, or generate one with `trust key generate --pkcs11 URI`.',
    exit: 2,
    http: 400,
  },
  PKCS11_MECHANISM_UNSUPPORTED: {
    meaning: 'The token does not offer, or refuses for this key, the mechanism ocitrust needs (CKM_ECDSA / CKM_EDDSA for signing, the key pair generation mechanisms).',
    action: 'Use a key type the token supports (`--type ecdsa-p256` is the most widely supported), and a key whose CKA_SIGN is true.',
    exit: 2,
    http: 400,
  },
  PKCS11_FAILED: {
    meaning: 'The PKCS#11 module returned an error ocitrust does not map to a more specific code (the CKR_ name is in the message).',
    action: 'Check the token (is it plugged in, is the session limit reached) and the module\'s logs; the CKR_ value says what the module refused.',
    exit: 3,
    http: 503,
  },
  SIGNATURE_UNVERIFIED: {
    meaning: 'A signature made by a hardware key or plugin does not verify with the public key it describes; it was not used.',
    action: 'Check that the key reference names the key you registered (`trust key list`), and the token or plugin; nothing was published.',
    exit: 3,
    http: 503,
  },
  PLUGIN_NOT_FOUND: {
    meaning: 'The signer plugin ocitrust-signer-NAME of a plugin:NAME:KEYREF reference is not an executable on PATH.',
    action: 'Install the plugin as an executable named ocitrust-signer-NAME in a folder on PATH (docs/signer-plugins.md).',
    exit: 3,
    http: 503,
  },
  PLUGIN_FAILED: {
    meaning: 'A signer plugin exited with an error (its error code and message are quoted), or crashed.',
    action: 'Read the plugin\'s message; check its credentials and the key reference.',
    exit: 3,
    http: 503,
  },
  PLUGIN_TIMEOUT: {
    meaning: 'A signer plugin did not answer within the time limit and was stopped.',
    action: 'Check the plugin\'s connection to its KMS; raise OCITRUST_PLUGIN_TIMEOUT (seconds) if it is merely slow.',
    exit: 3,
    http: 503,
  },
  PLUGIN_RESPONSE_INVALID: {
    meaning: 'A signer plugin answered something that is not a valid response of the protocol version (not JSON, too large, missing fields, an unusable public key).',
    action: 'Fix or upgrade the plugin (docs/signer-plugins.md states the protocol).',
    exit: 3,
    http: 503,
  },
} as const satisfies CodeTable;
