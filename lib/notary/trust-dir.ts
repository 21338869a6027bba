/**
 * Private keys of a Notary / docker trust dir (`~/.docker/trust`, `~/.notary`): every
 * `private/**\/*.key` is a PEM block, PKCS#8 encrypted with the key's passphrase
 * (`-----BEGIN ENCRYPTED PRIVATE KEY-----`), with `role:` and `gun:` header lines that notary
 * adds. The headers are read to pick the keys wanted, the body is decrypted by node:crypto
 * (PBES2, as notary writes it), and the key is matched to metadata by its fingerprint, never by
 * the file name.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { OcitrustError } from '../errors/index.js';
import { PublicKey } from '../keys/key.js';
import { EcdsaP256Signer } from '../keys/signer.js';
import { p256Scalar } from '../crypto/ecdsa-p256.js';

/** Most key files read, and the largest. */
const MAX_FILES = 10_000;
const MAX_KEY_BYTES = 64 * 1024;
const MAX_DEPTH = 6;

/** One key file's PEM headers, before it is decrypted. */
export interface NotaryKeyFile {
  /** Path relative to the trust dir. */
  readonly file: string;
  readonly path: string;
  readonly role: string | undefined;
  readonly gun: string | undefined;
  readonly label: string;
  readonly body: string;
}

/** A decrypted signing key. */
export interface NotarySigningKey {
  readonly file: string;
  readonly role: string | undefined;
  readonly fingerprint: string;
  readonly signer: EcdsaP256Signer;
  /** The key as an unencrypted PKCS#8 PEM (for `--keep-root-key`: moved into ocitrust's key store, encrypted again there). */
  pkcs8Pem(): string;
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && depth > 0) return;
    throw new OcitrustError('KEYFILE_IO', `Notary trust dir: ${dir} could not be read: ${(e as Error).message}`, { cause: e });
  }
  for (const e of entries) {
    if (out.length >= MAX_FILES) throw new OcitrustError('INPUT_TOO_LARGE', `Notary trust dir: expected at most ${MAX_FILES} key files, got more`);
    const p = join(dir, e.name);
    if (e.isDirectory() && depth < MAX_DEPTH) await walk(p, depth + 1, out);
    else if (e.isFile() && e.name.endsWith('.key')) out.push(p);
  }
}

/**
 * Lists the key files of a trust dir with their headers (nothing decrypted).
 * @throws KEYFILE_IO (no private/ folder), PEM_MALFORMED (a file that is not one PEM key block)
 */
export async function listNotaryKeyFiles(trustDir: string): Promise<NotaryKeyFile[]> {
  const files: string[] = [];
  await walk(join(trustDir, 'private'), 0, files);
  const out: NotaryKeyFile[] = [];
  for (const path of files.sort()) {
    const file = relative(trustDir, path);
    const st = await stat(path);
    if (st.size > MAX_KEY_BYTES) throw new OcitrustError('PEM_MALFORMED', `Notary key ${file}: expected at most ${MAX_KEY_BYTES} bytes, got ${st.size}`);
    out.push(parseKeyFile(file, path, (await readFile(path)).toString('utf8')));
  }
  return out;
}

function parseKeyFile(file: string, path: string, text: string): NotaryKeyFile {
  const m = /^-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)\r?\n-----END \1-----\s*$/.exec(text.trim() + '\n');
  if (!m) throw new OcitrustError('PEM_MALFORMED', `Notary key ${file}: expected one PEM private key block, got ${text.length} bytes that are not one`);
  const label = m[1]!;
  if (!['ENCRYPTED PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY'].includes(label)) throw new OcitrustError('PEM_MALFORMED', `Notary key ${file}: expected a private key, got a ${label} block`);
  const headers = new Map<string, string>();
  const body: string[] = [];
  for (const line of m[2]!.split(/\r?\n/)) {
    const h = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (h && body.length === 0) headers.set(h[1]!.toLowerCase(), h[2]!);
    else if (line.trim() !== '') body.push(line.trim());
  }
  const b64 = body.join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new OcitrustError('PEM_MALFORMED', `Notary key ${file}: the PEM body is not base64`);
  return { file, path, role: headers.get('role'), gun: headers.get('gun'), label, body: b64 };
}

/**
 * Decrypts one key file with `passphrase` (unused for an unencrypted key).
 * @throws KEY_PASSPHRASE_WRONG (naming the file), PEM_MALFORMED (corrupt), PEM_UNSUPPORTED (not P-256)
 */
export function decryptNotaryKey(k: NotaryKeyFile, passphrase: string): NotarySigningKey {
  if (!derSequenceSpans(Buffer.from(k.body, 'base64'))) throw new OcitrustError('PEM_MALFORMED', `Notary key ${k.file}: the PEM body is not one DER structure (the file is damaged)`);
  const armored = `-----BEGIN ${k.label}-----\n${k.body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${k.label}-----\n`;
  let key: KeyObject;
  try {
    key = createPrivateKey(k.label === 'ENCRYPTED PRIVATE KEY' ? { key: armored, format: 'pem', passphrase } : { key: armored, format: 'pem' });
  } catch (e) {
    const msg = (e as Error).message;
    // OpenSSL reports a wrong PBES2 passphrase as a bad decrypt; anything else is a damaged file.
    // The envelope parsed (derSequenceSpans): a failure now is the decryption's.
    if (k.label === 'ENCRYPTED PRIVATE KEY') {
      throw new OcitrustError('KEY_PASSPHRASE_WRONG', `wrong passphrase for Notary key ${k.file}${k.role ? ` (role ${k.role})` : ''} (or its encrypted body is damaged)`, { cause: e });
    }
    throw new OcitrustError('PEM_MALFORMED', `Notary key ${k.file}: not a private key node:crypto can decode (${msg})`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new OcitrustError('PEM_UNSUPPORTED', `Notary key ${k.file}: expected an ECDSA P-256 key, got ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}`);
  }
  const signer = new EcdsaP256Signer(p256Scalar(key));
  return { file: k.file, role: k.role, fingerprint: PublicKey.fromEcdsaP256(createPublicKey(key)).fingerprint, signer, pkcs8Pem: () => key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** True when `der` is one DER SEQUENCE spanning exactly the buffer (the envelope is intact). */
function derSequenceSpans(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  let len = der[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || der.length < 2 + n) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
    off = 2 + n;
  }
  return off + len === der.length;
}
