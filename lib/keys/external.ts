import { OcitrustError } from '../errors/index.js';
import type { PublicKey } from './key.js';
import type { Signer, SigningAlgorithm } from './signer.js';
import { isPluginRef, type PluginOptions } from './plugin.js';
import { isPkcs11Uri } from './pkcs11/uri.js';
import type { PinProvider } from './pkcs11/keys.js';

/*
 * Keys held outside ocitrust, addressed by a reference instead of a key file: a PKCS#11 URI
 * (`pkcs11:…`, RFC 7512) or a signer plugin (`plugin:NAME:KEYREF`). Either yields a Signer like
 * a key file does, so everything that signs (DSSE statements, root, targets, delegations,
 * revocations) takes them unchanged. The backends load lazily: a run that uses key files only
 * never loads the PKCS#11 binding.
 */

/** How external keys are reached: the PIN source and the environment (PATH, module paths). */
export interface ExternalKeyOptions extends PluginOptions {
  readonly pin?: PinProvider;
}

/** True when `s` is an external key reference rather than a key store name. */
export function isExternalKeyRef(s: string): boolean {
  return typeof s === 'string' && (isPkcs11Uri(s) || isPluginRef(s));
}

/**
 * The public key an external reference names (PKCS#11: read from the token; plugin: its
 * describe-key answer).
 * @throws KEY_REFERENCE_INVALID, PKCS11_*, PLUGIN_*
 */
export async function externalPublicKey(ref: string, o: ExternalKeyOptions = {}): Promise<PublicKey> {
  if (isPkcs11Uri(ref)) return (await import('./pkcs11/keys.js')).pkcs11PublicKey(ref, o);
  if (isPluginRef(ref)) return (await (await import('./plugin.js')).describePluginKey(ref, o)).publicKey;
  throw notExternal(ref);
}

/**
 * A signer for an external key. Every signature it returns has been verified with the key's
 * public key: a token or plugin that signs with another key, or returns garbage, yields
 * SIGNATURE_UNVERIFIED, never a signature that would be published and fail later.
 * @throws KEY_REFERENCE_INVALID, PKCS11_*, PLUGIN_*
 */
export async function openExternalSigner(ref: string, o: ExternalKeyOptions = {}): Promise<Signer> {
  if (isPkcs11Uri(ref)) return verified((await import('./pkcs11/keys.js')).openPkcs11Signer(ref, o), 'PKCS#11 key');
  if (isPluginRef(ref)) return (await import('./plugin.js')).openPluginSigner(ref, o);
  throw notExternal(ref);
}

/**
 * Generates a key pair where the reference points (PKCS#11 tokens only: a plugin's key is
 * made in its KMS).
 * @throws KEY_REFERENCE_INVALID, PKCS11_*
 */
export async function generateExternalKey(ref: string, algorithm: SigningAlgorithm, o: ExternalKeyOptions = {}): Promise<PublicKey> {
  if (isPkcs11Uri(ref)) return (await import('./pkcs11/keys.js')).generatePkcs11Key(ref, algorithm, o);
  throw new OcitrustError('KEY_REFERENCE_INVALID', `${ref.slice(0, 100)}: keys are generated in PKCS#11 tokens only (--pkcs11 pkcs11:…); create a plugin's key in its KMS and register it with \`trust key add\``);
}

function notExternal(ref: string): OcitrustError {
  return new OcitrustError('KEY_REFERENCE_INVALID', `${JSON.stringify(String(ref).slice(0, 100))}: expected pkcs11:… (RFC 7512) or plugin:NAME:KEYREF`);
}

async function verified(p: Promise<Signer>, what: string): Promise<Signer> {
  const inner = await p;
  return {
    keyid: inner.keyid,
    publicKey: inner.publicKey,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const sig = await inner.sign(data);
      if (!inner.publicKey.verify(sig, data)) {
        throw new OcitrustError('SIGNATURE_UNVERIFIED', `${what} ${inner.keyid.slice(0, 16)}…: the signature does not verify with its public key object; not used`);
      }
      return sig;
    },
  };
}
