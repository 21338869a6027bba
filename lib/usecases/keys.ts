import { createHash } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import type { KeyEntry, KeyStore, NewKey } from '../keys/keystore.js';
import type { Signer } from '../keys/signer.js';
import { isExternalKeyRef } from '../keys/external.js';

/** What a passphrase is asked for. */
export interface PassphraseRequest {
  /** Name of the key in the key store. */
  readonly keyName: string;
  /** Keyid, when the key exists already. */
  readonly keyid?: string;
  /** The role the key signs for (`root`, `targets`, a signer name), for per-role environment variables. */
  readonly role?: string;
  /** A new key: ask twice. */
  readonly confirm?: boolean;
}

/**
 * Supplies key passphrases (the CLI: environment, `--passphrase-file`, or a no-echo prompt).
 * Use cases never read passphrases themselves and never log them.
 */
export type PassphraseProvider = (req: PassphraseRequest) => Promise<string>;

/** Local keys and the signers loaded from them. */
export interface LocalSigners {
  readonly signers: readonly Signer[];
  /** Key store names, in the order of `signers`. */
  readonly names: readonly string[];
}

/**
 * Loads up to `want` local keys whose keyid is in `keyids` (in key store order), asking for
 * each passphrase. With `need`, fewer than `need` local keys is an error.
 *
 * @throws SIGNING_KEY_MISSING, KEY_PASSPHRASE_WRONG, KEYFILE_* and the provider's errors
 */
export async function loadLocalSigners(
  keys: KeyStore,
  keyids: readonly string[],
  opts: { want: number; need?: number; role: string; passphrase: PassphraseProvider },
): Promise<LocalSigners> {
  const local = (await keys.list()).filter((k) => keyids.includes(k.keyid));
  const need = opts.need ?? 1;
  if (local.length < need) {
    const which = keyids.map((k) => k.slice(0, 12)).join(', ') || 'none';
    throw new OcitrustError(
      'SIGNING_KEY_MISSING',
      `${opts.role}: ${need} key${need === 1 ? '' : 's'} needed, ${local.length} of its keys (${which}) in the local key store ${keys.dir}`,
    );
  }
  const signers: Signer[] = [];
  const names: string[] = [];
  for (const k of local.slice(0, Math.max(need, opts.want))) {
    signers.push(await openKey(keys, k, opts.role, opts.passphrase));
    names.push(k.name);
  }
  return { signers, names };
}

/**
 * A signer for one stored key: a key file asks for its passphrase; a key held in a PKCS#11
 * token or behind a plugin (a reference, `entry.uri`) asks for none (its PIN comes from the
 * key store's PIN provider).
 * @throws KEY_PASSPHRASE_WRONG, KEYFILE_*, PKCS11_*, PLUGIN_* and the provider's errors
 */
export async function openKey(keys: KeyStore, entry: { readonly name: string; readonly keyid: string }, role: string, passphrase: PassphraseProvider): Promise<Signer> {
  return keys.openSigner(entry.name, () => passphrase({ keyName: entry.name, keyid: entry.keyid, role }));
}

/**
 * Uses the key `name` when the store has it, else generates it (asking for a new passphrase).
 * An external reference (`pkcs11:…`, `plugin:NAME:KEYREF`) is recorded in the store (once)
 * and used: its key already exists in the token or KMS.
 * @throws KEY_NAME_INVALID, KEYFILE_*, PKCS11_*, PLUGIN_* and the provider's errors
 */
export async function useOrGenerateKey(keys: KeyStore, name: string, role: string, passphrase: PassphraseProvider): Promise<{ entry: KeyEntry; generated?: NewKey }> {
  if (isExternalKeyRef(name)) {
    const added = await keys.addReference(name);
    return { entry: await keys.resolve(added.name) };
  }
  const existing = (await keys.list()).find((k) => k.name === name);
  if (existing) return { entry: existing };
  const pass = await passphrase({ keyName: name, role, confirm: true });
  const generated = await keys.generate(name, pass);
  const entry = (await keys.list()).find((k) => k.name === name);
  if (!entry) throw new OcitrustError('KEY_NOT_FOUND', `key ${name} vanished from ${keys.dir} right after it was generated`);
  return { entry, generated };
}

/**
 * A short, valid key-name fragment for a collection: its last path component (≤ 24 characters)
 * and 8 hex characters of its hash, e.g. `app-1a2b3c4d`.
 */
export function collectionSlug(collection: string): string {
  const last = collection.split('/').pop() ?? 'c';
  const clean = last.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 24) || 'c';
  return `${clean}-${createHash('sha256').update(collection).digest('hex').slice(0, 8)}`;
}
