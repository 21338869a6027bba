import type { CodeTable } from '../spec.js';

/** Error codes of the keys area. Add entries here; docs/errors.md is generated from them. */
export const keysCodes = {
  KEY_INVALID: {
    meaning: 'A public or private key is malformed, not on the curve, non-canonical or of small order, or an RSA key outside 2048 to 4096 bits.',
    action: 'Regenerate or re-export the key (Ed25519 or ECDSA P-256; RSA keys are verified, 2048 to 4096 bits).',
    exit: 2,
    http: 400,
  },
  KEY_UNSUPPORTED: {
    meaning: 'A key has a type or scheme ocitrust does not accept (accepted: ed25519, ECDSA P-256 as TUF or Notary write it, Notary rsa/rsa-x509 with PSS).',
    action: 'Use an Ed25519 or ECDSA P-256 key (trust key generate [--type ecdsa-p256], or openssl genpkey).',
    exit: 2,
    http: 400,
  },
  KEY_PASSPHRASE_WRONG: {
    meaning: 'The passphrase does not unlock the private key file (or the file\'s kdf parameters were altered).',
    action: 'Retry with the right passphrase (OCITRUST_PASSPHRASE, OCITRUST_<ROLE>_PASSPHRASE, --passphrase-file or the prompt).',
    exit: 2,
    http: 400,
  },
  KEYFILE_MALFORMED: {
    meaning: 'A private key file is not a well-formed ocitrust key file (missing or ill-typed fields, bad hex, wrong lengths).',
    action: 'Restore the key file from a backup; do not edit key files by hand.',
    exit: 2,
    http: 400,
  },
  KEYFILE_UNSUPPORTED: {
    meaning: 'A private key file names a format version, kdf or cipher this version of ocitrust does not support, or kdf parameters beyond the memory limit.',
    action: 'Upgrade ocitrust, or re-encrypt the key with supported parameters (scrypt, xchacha20-poly1305).',
    exit: 2,
    http: 400,
  },
  KEYFILE_WEAK_PARAMS: {
    meaning: 'A private key file uses key-derivation parameters below the minimum (scrypt N >= 2^15, r >= 8, p >= 1, salt >= 16 bytes).',
    action: 'Re-encrypt the key with current defaults (export it and import it again).',
    exit: 2,
    http: 400,
  },
  KEYFILE_CORRUPT: {
    meaning: 'The passphrase is right but authenticated decryption of the key file failed: its ciphertext or header was altered.',
    action: 'Treat the file as tampered; restore it from a backup or rotate the key.',
    exit: 2,
    http: 400,
  },
  KEYFILE_KEY_MISMATCH: {
    meaning: 'The decrypted private key does not produce the public key or keyid recorded in the key file.',
    action: 'Treat the file as tampered or damaged; restore it from a backup or rotate the key.',
    exit: 2,
    http: 400,
  },
  KEYFILE_IO: {
    meaning: 'A key file or key store directory could not be read or written.',
    action: 'Check the path, permissions and free space; the message names the file and the system error.',
    exit: 3,
    http: 500,
  },
  KEY_EXISTS: {
    meaning: 'The key store already has a key with this name, or already holds this key under another name.',
    action: 'Choose another name, or use the existing key (trust key list).',
    exit: 2,
    http: 409,
  },
  KEY_NOT_FOUND: {
    meaning: 'No key in the key store matches the given name, keyid or keyid prefix.',
    action: 'List the keys (trust key list) and use a name or a longer keyid prefix.',
    exit: 2,
    http: 404,
  },
  KEY_AMBIGUOUS: {
    meaning: 'A keyid prefix matches more than one key in the key store.',
    action: 'Use the key name or a longer keyid prefix.',
    exit: 2,
    http: 400,
  },
  KEY_NAME_INVALID: {
    meaning: 'A key name does not match [a-z0-9][a-z0-9._-]{0,63}.',
    action: 'Use lowercase letters, digits, dot, underscore and dash, starting with a letter or digit.',
    exit: 2,
    http: 400,
  },
  PEM_MALFORMED: {
    meaning: 'Input that should be a PEM key is not well-formed (no PEM block, bad base64, bad DER, several keys).',
    action: 'Pass a single PKCS#8 private key or SPKI public key in PEM form (openssl genpkey -algorithm ed25519).',
    exit: 2,
    http: 400,
  },
  PEM_UNSUPPORTED: {
    meaning: 'A PEM key is of another algorithm (RSA, ECDSA, X25519, Ed448, OpenSSH format...) than Ed25519.',
    action: 'Use an Ed25519 key: openssl genpkey -algorithm ed25519 -out key.pem.',
    exit: 2,
    http: 400,
  },
  PEM_ENCRYPTED: {
    meaning: 'A PEM private key is encrypted; ocitrust imports only unencrypted PKCS#8 and encrypts it with its own key file format.',
    action: 'Decrypt it first: openssl pkey -in enc.pem -out plain.pem, import it, then delete plain.pem.',
    exit: 2,
    http: 400,
  },
} as const satisfies CodeTable;
