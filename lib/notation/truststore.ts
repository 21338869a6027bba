/**
 * Notation trust stores (trust-store-trust-policy.md "Trust store"): certificates under
 * `<trustStore>/x509/<type>/<name>/`, type `ca`, `signingAuthority` or `tsa`, each file PEM
 * (one or more certificates) or DER. Bounded: files per store, bytes per file, certificates.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OcitrustError } from '../errors/index.js';
import { parseCert, type Cert } from './x509.js';
import { STORE_NAME, type StoreType } from './store-types.js';

export { STORE_NAME, STORE_TYPES, type StoreType } from './store-types.js';

const MAX_FILES = 64;
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_CERTS_PER_STORE = 256;

function storeError(message: string): never {
  throw new OcitrustError('NOTATION_TRUST_STORE_INVALID', message);
}

/** The folder of one named store. */
export function storeDir(root: string, type: StoreType, name: string): string {
  if (!STORE_NAME.test(name) || name === '.' || name === '..') storeError(`trust store name: expected letters, digits, _ . -, got ${JSON.stringify(name)}`);
  return join(root, 'x509', type, name);
}

/** The certificate files of one store, sorted (bounded). */
export function storeFiles(root: string, type: StoreType, name: string): string[] {
  const dir = storeDir(root, type, name);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    storeError(`trust store ${type}:${name}: expected the folder ${dir}, which cannot be read`);
  }
  const files = names.filter((n) => !n.startsWith('.')).sort();
  if (files.length > MAX_FILES) storeError(`trust store ${type}:${name}: expected at most ${MAX_FILES} files, got ${files.length}`);
  return files.map((n) => join(dir, n)).filter((p) => statSync(p).isFile());
}

/** Splits PEM text into DER certificates; DER bytes are returned as they are. */
function certificatesOf(bytes: Uint8Array): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN')) return [bytes];
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/**
 * Loads the certificates of a named store. A `ca` / `signingAuthority` store holds CA
 * certificates or self-signed signing certificates; a `tsa` store root CAs (both as notation).
 *
 * @throws OcitrustError NOTATION_TRUST_STORE_INVALID
 */
export function loadStore(root: string, type: StoreType, name: string): Cert[] {
  const certs: Cert[] = [];
  for (const file of storeFiles(root, type, name)) {
    const size = statSync(file).size;
    if (size > MAX_FILE_BYTES) storeError(`trust store ${type}:${name}: ${file} is ${size} bytes, expected at most ${MAX_FILE_BYTES}`);
    const ders = certificatesOf(readFileSync(file));
    if (ders.length === 0) storeError(`trust store ${type}:${name}: ${file} holds no certificate`);
    for (const [i, der] of ders.entries()) {
      const c = parseCert(der, `trust store ${type}:${name}: ${file} certificate ${i}`, 'NOTATION_TRUST_STORE_INVALID');
      const selfSigned = c.node.issuer === c.node.subject;
      if (!c.node.ca && !(selfSigned && type !== 'tsa')) storeError(`trust store ${type}:${name}: "${c.subject}" in ${file} is neither a CA certificate nor a self-signed signing certificate`);
      certs.push(c);
      if (certs.length > MAX_CERTS_PER_STORE) storeError(`trust store ${type}:${name}: more than ${MAX_CERTS_PER_STORE} certificates`);
    }
  }
  if (certs.length === 0) storeError(`trust store ${type}:${name}: no certificates in ${storeDir(root, type, name)}`);
  return certs;
}
