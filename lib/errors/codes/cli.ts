import type { CodeTable } from '../spec.js';

/**
 * Error codes of the cli area: the `trust` command line, its use cases (lib/usecases) and the
 * trust server write client (lib/trust-client.ts). docs/errors.md is generated from them.
 */
export const cliCodes = {
  CLI_USAGE: {
    meaning: 'The command line is not valid: an unknown command or option, a missing argument, or an option value of the wrong form.',
    action: 'Run the command with --help; every command shows its arguments, options and an example.',
    exit: 2,
    http: 400,
  },
  CLI_INPUT_UNREADABLE: {
    meaning: 'A file named on the command line (root, passphrase, token, key, manifest) could not be read.',
    action: 'Check the path and its permissions.',
    exit: 2,
    http: 400,
  },
  CLI_WORKING_FOLDER_GONE: {
    meaning: 'The folder the command was started in no longer exists (it was removed after the shell entered it), so relative paths cannot be resolved.',
    action: 'cd to an existing folder and run the command again.',
    exit: 3,
    http: 500,
  },
  CLI_OUTPUT_FAILED: {
    meaning: 'A file the command writes (a public key, an exported key, the ocitrust home) could not be written.',
    action: 'Check that the folder exists and is writable, and that there is disk space.',
    exit: 3,
    http: 500,
  },
  CLI_OUTPUT_EXISTS: {
    meaning: 'A file the command would write (an exported key, a public key) exists already; ocitrust never overwrites it.',
    action: 'Name a new file, or remove the old one first.',
    exit: 2,
    http: 400,
  },
  PASSPHRASE_UNAVAILABLE: {
    meaning: 'A key passphrase is needed, but none was given in the environment or a file and there is no terminal to ask on.',
    action: 'Set OCITRUST_<ROLE>_PASSPHRASE or OCITRUST_PASSPHRASE, or pass --passphrase-file, or run on a terminal.',
    exit: 2,
    http: 400,
  },
  PASSPHRASE_MISMATCH: {
    meaning: 'The passphrase typed to confirm a new key differs from the first one.',
    action: 'Run the command again and type the same passphrase twice.',
    exit: 2,
    http: 400,
  },
  PROMPT_ABORTED: {
    meaning: 'The passphrase prompt was interrupted (Ctrl-C or end of input).',
    action: 'Run the command again, or provide the passphrase through the environment or --passphrase-file.',
    exit: 2,
    http: 400,
  },
  TRUST_SERVER_UNREACHABLE: {
    meaning: 'The trust server could not be reached (connection refused, DNS failure, TLS failure).',
    action: 'Check --server / OCITRUST_SERVER and that the server runs (`trust server`).',
    exit: 3,
    http: 502,
  },
  TRUST_SERVER_TIMEOUT: {
    meaning: 'The trust server did not answer completely within the request timeout.',
    action: 'Retry; check the server load and the network.',
    exit: 3,
    http: 504,
  },
  TRUST_SERVER_ERROR: {
    meaning: 'The trust server answered with an unexpected status (a server-side failure or a redirect).',
    action: 'Check the server log; retry later. Redirects are not followed: use the final URL.',
    exit: 3,
    http: 502,
  },
  TRUST_SERVER_BAD_RESPONSE: {
    meaning: 'The trust server answered with something that is not the expected JSON document.',
    action: 'Check that --server points at an ocitrust trust server, and its version.',
    exit: 3,
    http: 502,
  },
  TRUST_SERVER_NOT_OCITRUST: {
    meaning: 'The --server address answers HTTP, but not as an ocitrust trust server (a registry, a web page, another API): its answers carry neither the Ocitrust-Api-Version header nor an ocitrust error document.',
    action: 'Point --server / OCITRUST_SERVER at the trust server (`trust server`), not at the registry or a web front end.',
    exit: 3,
    http: 502,
  },
  PIN_STORE_IO: {
    meaning: 'The pinned root of a collection in the ocitrust home could not be read or written, or the file is corrupt.',
    action: 'Check the permissions of the ocitrust home (--home / OCITRUST_HOME); delete a corrupt pin file and pin again with --root.',
    exit: 3,
    http: 500,
  },
  SIGNER_NOT_DELEGATED: {
    meaning: 'The signer role or key named for signing is not delegated by the collection, or its paths do not cover the image.',
    action: 'List the signers (`trust signer list <repo>`) and add the key (`trust signer add --key KEY.pub NAME <repo>`).',
    exit: 2,
    http: 400,
  },
  SIGNER_KEY_NOT_FOUND: {
    meaning: '`trust signer rotate --remove` names a keyid (or a prefix of at least 8 characters) that matches none, or more than one, of the signer\'s keys.',
    action: 'List the signer\'s keyids (`trust signer list <repo> -o json`) and name one of them, or a longer prefix.',
    exit: 2,
    http: 400,
  },
  SIGNING_KEY_MISSING: {
    meaning: 'No key in the local key store can sign for the role (a signer, targets or root).',
    action: 'Import the key (`trust key import`) or use --key to name it; `trust key list` shows the local keys.',
    exit: 2,
    http: 400,
  },
  SIGNER_AMBIGUOUS: {
    meaning: 'More than one signer role could sign this image with the local keys.',
    action: 'Name the role with --signer.',
    exit: 2,
    http: 400,
  },
  REVOKE_ENVELOPE_NOT_FOUND: {
    meaning: '`trust revoke --envelope` names an envelope digest that is not among the signatures stored for the image, so there is no signature to name.',
    action: 'List the image\'s signatures and their envelope digests with `trust inspect`; to revoke every signature of the image (or of one signer) leave out --envelope.',
    exit: 2,
    http: 404,
  },
  REVOKE_SIGNATURE_UNVERIFIED: {
    meaning: '`trust revoke --envelope` found the envelope, but no key the collection delegates (to the --signer role, when given) verifies a signature in it; a revocation names a signature by the key that made it, so there is nothing to name (and such a signature does not count anyway).',
    action: 'Check the envelope digest and --signer with `trust inspect`; revoke by image digest or signer instead.',
    exit: 2,
    http: 400,
  },
  CLI_NOT_IN_EXECUTABLE: {
    meaning: 'The command needs a part that the single-file `trust` executable (or the start-up snapshot build) does not carry: `trust server` and its token and webhook subcommands need the server\'s packages, among them the native SQLite driver, which a single executable cannot load; PKCS#11 (`pkcs11:`) keys need the native pkcs11js binding likewise.',
    action: 'Run the command with the `trust` of the npm package (`npm install -g ocitrust`) or the container image; every other command works in the executable.',
    exit: 3,
    http: 500,
  },
  CLI_FRONT_NO_NODE: {
    meaning: 'The native front of `trust` (`npm run build:front`, native/trust-front.c) cannot start the Node.js it was built for: the node binary it names was moved, removed or upgraded to another path since.',
    action: 'Run `npm run build:front` again with the Node.js you use now, or call the npm bin (`trust` from `npm install -g ocitrust`) directly.',
    exit: 3,
    http: 500,
  },
} as const satisfies CodeTable;
