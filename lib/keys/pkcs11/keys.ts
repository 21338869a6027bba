import { createHash, randomBytes } from 'node:crypto';
import type * as Pkcs11Types from 'pkcs11js';
import { OcitrustError } from '../../errors/index.js';
import { normalizeEcdsaP256Signature } from '../../crypto/ecdsa-p256.js';
import { PublicKey } from '../key.js';
import type { Signer, SigningAlgorithm } from '../signer.js';
import { closeSession, login, openToken, pkcs11Error, type TokenSession } from './token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './uri.js';

/*
 * Key pairs in a PKCS#11 token: found by the URI's object label / id, generated inside the
 * token (the private key is CKA_SENSITIVE and not extractable: it never leaves the token), and
 * used for signing:
 *  - ECDSA P-256: CKM_ECDSA over SHA-256(data) computed here (CKM_ECDSA_SHA256 is optional in
 *    tokens, plain CKM_ECDSA is everywhere); the token's raw r||s becomes low-S DER, the
 *    encoding of ocitrust's own ECDSA signatures (TUF ecdsa-sha2-nistp256, tuf-js, DSSE).
 *  - Ed25519: CKM_EDDSA (PKCS#11 3.0) over the data itself (pure Ed25519, RFC 8032).
 * The public key is read from the public key object (CKA_EC_POINT), not trusted blindly: every
 * signature is verified against it before it is used (lib/keys/external.ts).
 */

/** PKCS#11 3.0 constants pkcs11js does not define. */
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** DER OID prime256v1 (1.2.840.10045.3.1.7). */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** DER OID id-Ed25519 (1.3.101.112), and the printable-string form some tokens use. */
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');
const ED25519_PRINTABLE = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]);

type Handle = Pkcs11Types.Handle;

/** A key pair found in a token. */
interface FoundKey {
  readonly t: TokenSession;
  readonly privateKey: Handle | undefined;
  readonly publicKey: PublicKey;
  readonly algorithm: SigningAlgorithm;
}

/** Supplies the user PIN of a token (the CLI: --pin-file, OCITRUST_PKCS11_PIN, pin-source, a prompt). */
export type PinProvider = (req: { readonly token: string; readonly uri: Pkcs11Uri }) => Promise<string>;

/** Options of the PKCS#11 key functions. */
export interface Pkcs11Options {
  readonly pin?: PinProvider;
  readonly env?: NodeJS.ProcessEnv;
}

function what(uri: Pkcs11Uri, label: string): string {
  const id = uri.id ? ` id=${Buffer.from(uri.id).toString('hex')}` : '';
  return `${uri.object !== undefined ? `object ${JSON.stringify(uri.object)}` : 'key'}${id} in token ${JSON.stringify(label)}`;
}

function objectTemplate(t: TokenSession, uri: Pkcs11Uri, cls?: number): Pkcs11Types.Template {
  const tpl: Pkcs11Types.Template = [];
  if (cls !== undefined) tpl.push({ type: t.p.CKA_CLASS, value: cls });
  if (uri.object !== undefined) tpl.push({ type: t.p.CKA_LABEL, value: uri.object });
  if (uri.id !== undefined) tpl.push({ type: t.p.CKA_ID, value: Buffer.from(uri.id) });
  return tpl;
}

function find(t: TokenSession, tpl: Pkcs11Types.Template, max = 4): Handle[] {
  try {
    t.lib.C_FindObjectsInit(t.session, tpl);
    try {
      return t.lib.C_FindObjects(t.session, max);
    } finally {
      t.lib.C_FindObjectsFinal(t.session);
    }
  } catch (e) {
    throw pkcs11Error(e, `searching token ${JSON.stringify(t.label)}`);
  }
}

function attr(t: TokenSession, h: Handle, type: number): Buffer {
  try {
    const [a] = t.lib.C_GetAttributeValue(t.session, h, [{ type }]);
    return a?.value ?? Buffer.alloc(0);
  } catch (e) {
    throw pkcs11Error(e, `reading an attribute in token ${JSON.stringify(t.label)}`);
  }
}

/** The bytes inside a DER OCTET STRING, or the input when it is not one (some tokens give the raw point). */
function unwrapOctetString(b: Buffer, rawLength: number): Buffer {
  if (b.length === rawLength) return b;
  if (b[0] === 0x04) {
    if (b[1]! < 0x80 && b[1] === b.length - 2) return b.subarray(2);
    if (b[1] === 0x81 && b[2] === b.length - 3) return b.subarray(3);
  }
  return b;
}

function algorithmOf(t: TokenSession, h: Handle, where: string): SigningAlgorithm {
  const keyType = attr(t, h, t.p.CKA_KEY_TYPE).readUInt32LE(0);
  const ec = keyType === t.p.CKK_EC || keyType === CKK_EC_EDWARDS;
  // Only EC keys have CKA_EC_PARAMS (asking an RSA key for it is CKR_ATTRIBUTE_TYPE_INVALID).
  const params = ec ? attr(t, h, t.p.CKA_EC_PARAMS) : Buffer.alloc(0);
  if (keyType === t.p.CKK_EC && params.equals(P256_PARAMS)) return 'ecdsa-p256';
  if (keyType === CKK_EC_EDWARDS && (params.equals(ED25519_PARAMS) || params.equals(ED25519_PRINTABLE))) return 'ed25519';
  const kind = ec ? `an EC key on another curve (params ${params.toString('hex').slice(0, 40)})` : keyType === t.p.CKK_RSA ? 'an RSA key' : `key type 0x${keyType.toString(16)}`;
  throw new OcitrustError('PKCS11_KEY_TYPE_UNSUPPORTED', `${where}: expected an ECDSA P-256 or Ed25519 key pair, got ${kind}`);
}

function publicKeyOf(t: TokenSession, h: Handle, algorithm: SigningAlgorithm, where: string): PublicKey {
  const point = unwrapOctetString(attr(t, h, t.p.CKA_EC_POINT), algorithm === 'ed25519' ? 32 : 65);
  try {
    return algorithm === 'ed25519' ? PublicKey.fromRaw(new Uint8Array(point)) : PublicKey.fromEcdsaP256(new Uint8Array(point));
  } catch (e) {
    throw new OcitrustError('PKCS11_KEY_TYPE_UNSUPPORTED', `${where}: the public key object holds no usable point (${(e as Error).message})`, { cause: e });
  }
}

/**
 * Finds the key pair a URI names: exactly one public key object (the public key) and, with
 * `needPrivate`, exactly one private key object with the same label/id.
 * @throws PKCS11_OBJECT_NOT_FOUND, PKCS11_KEY_TYPE_UNSUPPORTED, the token's errors
 */
async function findKey(uri: Pkcs11Uri, o: Pkcs11Options, needPrivate: boolean): Promise<FoundKey> {
  const t = await openToken(uri, o.env);
  const where = what(uri, t.label);
  if (needPrivate && t.loginRequired) await loginWithPin(t, uri, o);
  const pubs = find(t, objectTemplate(t, uri, t.p.CKO_PUBLIC_KEY));
  const privs = needPrivate ? find(t, objectTemplate(t, uri, t.p.CKO_PRIVATE_KEY)) : [];
  if (pubs.length === 0 || (needPrivate && privs.length === 0)) {
    // Something else by that name (a secret key, a certificate, a lone private key) is the wrong kind of object.
    const any = find(t, objectTemplate(t, uri));
    if (any.length > 0) {
      const cls = attr(t, any[0]!, t.p.CKA_CLASS).readUInt32LE(0);
      const kind = cls === t.p.CKO_SECRET_KEY ? 'a secret key' : cls === t.p.CKO_CERTIFICATE ? 'a certificate' : cls === t.p.CKO_PRIVATE_KEY ? 'a private key without its public key object' : cls === t.p.CKO_PUBLIC_KEY ? 'a public key without its private key' : `object class ${cls}`;
      throw new OcitrustError('PKCS11_KEY_TYPE_UNSUPPORTED', `${where}: expected a key pair (private and public key objects), got ${kind}`);
    }
    throw new OcitrustError('PKCS11_OBJECT_NOT_FOUND', `${where}: no such key pair${t.loginRequired && !needPrivate ? ' among the public objects' : ''}; check object= and id= in the URI`);
  }
  if (pubs.length > 1 || privs.length > 1) {
    throw new OcitrustError('PKCS11_OBJECT_NOT_FOUND', `${where}: several key pairs match; add id= to the URI to name one`);
  }
  const algorithm = algorithmOf(t, pubs[0]!, where);
  if (needPrivate && algorithmOf(t, privs[0]!, where) !== algorithm) {
    throw new OcitrustError('PKCS11_KEY_TYPE_UNSUPPORTED', `${where}: the private and public key objects are of different types`);
  }
  return { t, privateKey: privs[0], publicKey: publicKeyOf(t, pubs[0]!, algorithm, where), algorithm };
}

async function loginWithPin(t: TokenSession, uri: Pkcs11Uri, o: Pkcs11Options): Promise<void> {
  if (!o.pin) throw new OcitrustError('PKCS11_PIN_MISSING', `token ${JSON.stringify(t.label)} needs a user PIN: pass --pin-file or set OCITRUST_PKCS11_PIN`);
  login(t, await o.pin({ token: t.label, uri }));
}

/**
 * The public key of the key pair a URI names (no PIN needed when the public key object is public).
 * @throws PKCS11_* codes
 */
export async function pkcs11PublicKey(uri: string | Pkcs11Uri, o: Pkcs11Options = {}): Promise<PublicKey> {
  const u = typeof uri === 'string' ? parsePkcs11Uri(uri) : uri;
  const k = await findKey(u, o, false);
  closeSession(k.t);
  return k.publicKey;
}

/** A signer whose private key stays in a PKCS#11 token. */
export class Pkcs11Signer implements Signer {
  readonly keyid: string;
  readonly publicKey: PublicKey;
  readonly algorithm: SigningAlgorithm;
  readonly uri: string;
  readonly #k: FoundKey;

  /** @internal use {@link openPkcs11Signer} */
  constructor(uri: string, k: FoundKey) {
    this.uri = uri;
    this.#k = k;
    this.publicKey = k.publicKey;
    this.keyid = k.publicKey.keyid;
    this.algorithm = k.algorithm;
  }

  /** @throws PKCS11_MECHANISM_UNSUPPORTED, PKCS11_TOKEN_NOT_FOUND, PKCS11_FAILED */
  async sign(data: Uint8Array): Promise<Uint8Array> {
    return this.signSync(data);
  }

  /** Synchronous signing (pkcs11js's calls are synchronous), for benchmarks. */
  signSync(data: Uint8Array): Uint8Array {
    const { t, privateKey, algorithm } = this.#k;
    const ed = algorithm === 'ed25519';
    const mechanism = ed ? CKM_EDDSA : t.p.CKM_ECDSA;
    const input = ed ? Buffer.from(data) : createHash('sha256').update(data).digest();
    let raw: Buffer;
    try {
      t.lib.C_SignInit(t.session, { mechanism }, privateKey!);
      raw = t.lib.C_Sign(t.session, input, Buffer.alloc(128));
    } catch (e) {
      throw pkcs11Error(e, `signing with ${what(parsePkcs11Uri(this.uri), t.label)}`, `the key must allow signing (CKA_SIGN) with ${ed ? 'CKM_EDDSA' : 'CKM_ECDSA'}`);
    }
    if (ed) return new Uint8Array(raw);
    return normalizeEcdsaP256Signature(new Uint8Array(raw), 'ieee-p1363');
  }
}

/**
 * Opens a signer for the key pair a URI names, logging in with the PIN when the token wants one.
 * @throws PKCS11_* codes
 */
export async function openPkcs11Signer(uri: string, o: Pkcs11Options = {}): Promise<Pkcs11Signer> {
  const u = parsePkcs11Uri(uri);
  const k = await findKey(u, o, true);
  const mech = k.algorithm === 'ed25519' ? CKM_EDDSA : k.t.p.CKM_ECDSA;
  if (!k.t.mechanisms.has(mech)) {
    throw new OcitrustError('PKCS11_MECHANISM_UNSUPPORTED', `token ${JSON.stringify(k.t.label)} does not offer ${k.algorithm === 'ed25519' ? 'CKM_EDDSA' : 'CKM_ECDSA'}, needed to sign with ${what(u, k.t.label)}`);
  }
  return new Pkcs11Signer(uri, k);
}

/**
 * Generates a key pair inside the token (the private key sensitive and not extractable) with
 * the URI's object label and id (a random 16-byte id when the URI has none).
 * @throws PKCS11_OBJECT_EXISTS, PKCS11_MECHANISM_UNSUPPORTED, PKCS11_PIN_*, PKCS11_* codes
 */
export async function generatePkcs11Key(uri: string, algorithm: SigningAlgorithm, o: Pkcs11Options = {}): Promise<PublicKey> {
  const u = parsePkcs11Uri(uri);
  const t = await openToken(u, o.env);
  try {
    return await generateIn(t, u, algorithm, o);
  } finally {
    closeSession(t);
  }
}

async function generateIn(t: TokenSession, u: Pkcs11Uri, algorithm: SigningAlgorithm, o: Pkcs11Options): Promise<PublicKey> {
  const where = what(u, t.label);
  const ed = algorithm === 'ed25519';
  const mech = ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : t.p.CKM_EC_KEY_PAIR_GEN;
  const signMech = ed ? CKM_EDDSA : t.p.CKM_ECDSA;
  for (const [m, name] of [[mech, ed ? 'CKM_EC_EDWARDS_KEY_PAIR_GEN' : 'CKM_EC_KEY_PAIR_GEN'], [signMech, ed ? 'CKM_EDDSA' : 'CKM_ECDSA']] as const) {
    if (!t.mechanisms.has(m)) throw new OcitrustError('PKCS11_MECHANISM_UNSUPPORTED', `token ${JSON.stringify(t.label)} does not offer ${name}, needed for a ${algorithm} key; try --type ${ed ? 'ecdsa-p256' : 'ed25519'}`);
  }
  if (t.loginRequired) await loginWithPin(t, u, o);
  if (find(t, objectTemplate(t, u)).length > 0) {
    throw new OcitrustError('PKCS11_OBJECT_EXISTS', `${where}: an object with this label/id exists already; choose another object= label`);
  }
  const id = u.id ? Buffer.from(u.id) : randomBytes(16);
  const common = [
    { type: t.p.CKA_TOKEN, value: true },
    { type: t.p.CKA_KEY_TYPE, value: ed ? CKK_EC_EDWARDS : t.p.CKK_EC },
    { type: t.p.CKA_ID, value: id },
    ...(u.object !== undefined ? [{ type: t.p.CKA_LABEL, value: u.object }] : []),
  ];
  let pair: Pkcs11Types.KeyPair;
  try {
    pair = t.lib.C_GenerateKeyPair(
      t.session,
      { mechanism: mech },
      [...common, { type: t.p.CKA_CLASS, value: t.p.CKO_PUBLIC_KEY }, { type: t.p.CKA_VERIFY, value: true }, { type: t.p.CKA_EC_PARAMS, value: ed ? ED25519_PARAMS : P256_PARAMS }],
      [
        ...common,
        { type: t.p.CKA_CLASS, value: t.p.CKO_PRIVATE_KEY },
        { type: t.p.CKA_SIGN, value: true },
        { type: t.p.CKA_PRIVATE, value: true },
        { type: t.p.CKA_SENSITIVE, value: true },
        { type: t.p.CKA_EXTRACTABLE, value: false },
      ],
    );
  } catch (e) {
    throw pkcs11Error(e, `generating a ${algorithm} key pair as ${where}`, `the token may not support ${algorithm}`);
  }
  return publicKeyOf(t, pair.publicKey, algorithm, where);
}
