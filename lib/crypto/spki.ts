import { createPublicKey, type KeyObject } from 'node:crypto';
import { OcitrustError, assertArg } from '../errors/index.js';

/**
 * Decodes a DER SubjectPublicKeyInfo with OpenSSL, bounded in size before parsing. The caller
 * checks the algorithm and parameters of the key it gets.
 * @param what names the key in messages (`ECDSA public key`, `RSA public key`)
 * @throws KEY_INVALID when it is larger than `maxBytes` or not SPKI OpenSSL can decode
 */
export function decodeSpki(der: Uint8Array, what: string, maxBytes: number): KeyObject {
  assertArg(der instanceof Uint8Array, 'der', 'Uint8Array', der);
  if (der.length > maxBytes) throw new OcitrustError('KEY_INVALID', `${what}: expected a DER SPKI of at most ${maxBytes} bytes, got ${der.length}`);
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (e) {
    throw new OcitrustError('KEY_INVALID', `${what}: expected a DER SubjectPublicKeyInfo, got bytes OpenSSL cannot decode (${(e as Error).message})`, { cause: e });
  }
}
