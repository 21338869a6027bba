/**
 * RFC 3161 timestamp countersignatures of Notation signatures (signature-specification.md
 * "Timestamping"): the token is a CMS SignedData over a TSTInfo whose message imprint is the
 * hash of the signature value. The DER walk and the TSTInfo fields come from @sigstore/core's
 * RFC3161Timestamp (the Sigstore clients' maintained parser, already a dependency for the
 * cosign track) instead of a hand-written CMS parser; it only verifies ECDSA TSA signatures,
 * so the signer-info signature is checked here with Node's crypto for RSA and ECDSA alike, over
 * the signed attributes the parser exposes. The TSA chain is built from the token's
 * certificates to a certificate of the policy's `tsa` trust stores, valid at the timestamp.
 */
import { createHash, verify as cryptoVerify, constants } from 'node:crypto';
import { RFC3161Timestamp, type ASN1Obj } from '@sigstore/core';
import { OcitrustError } from '../errors/index.js';
import { EKU_TIME_STAMPING, checkLeaf, isIssuingCa, issuedBy, parseCert, type Cert } from './x509.js';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** Signature algorithm OIDs of a signer info → how to verify (the hash is the signer's digest algorithm). */
const SIG_ALGS: Record<string, 'rsa' | 'ecdsa'> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.113549.1.1.11': 'rsa',
  '1.2.840.113549.1.1.12': 'rsa',
  '1.2.840.113549.1.1.13': 'rsa',
  '1.2.840.10045.4.3.2': 'ecdsa',
  '1.2.840.10045.4.3.3': 'ecdsa',
  '1.2.840.10045.4.3.4': 'ecdsa',
};
const MAX_TSA_CHAIN = 10;
const MAX_TOKEN_CERTS = 16;

/** A verified timestamp: the time range the TSA vouches for, and who the TSA is. */
export interface VerifiedTimestamp {
  /** genTime − accuracy. */
  readonly earliest: Date;
  /** genTime + accuracy. */
  readonly latest: Date;
  readonly genTime: Date;
  readonly tsa: string;
  /** The TSA chain, signer first, ending at the trust store certificate (for revocation). */
  readonly chain: readonly Cert[];
}

function bad(message: string): never {
  throw new OcitrustError('NOTATION_TIMESTAMP_INVALID', `timestamp countersignature: ${message}`);
}

/** DER length octets. */
function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** Wraps a TimeStampToken into a granted TimeStampResp, the shape RFC3161Timestamp parses. */
function asResponse(token: Uint8Array): Buffer<ArrayBuffer> {
  const status = [0x30, 0x03, 0x02, 0x01, 0x00];
  const body = [...status, ...token];
  return Buffer.from([0x30, ...derLength(body.length), ...body]);
}

const sub = (o: ASN1Obj | undefined, i: number): ASN1Obj => {
  const s = o?.subs[i];
  if (!s) bad('malformed CMS structure');
  return s;
};

/** Seconds of the TSTInfo accuracy (RFC 3161 §2.4.2); 1 second when absent (notation's tspclient default is no better). */
function accuracyMs(tstInfo: ASN1Obj): number {
  const acc = tstInfo.subs[5];
  if (!acc || acc.tag.number !== 0x10 || !acc.tag.isUniversal()) return 1000;
  let ms = 0;
  for (const f of acc.subs) {
    if (f.tag.isInteger()) ms += Number(f.toInteger()) * 1000;
    else if (f.tag.isContextSpecific(0)) ms += Number(BigInt('0x' + (f.value.toString('hex') || '0')));
    else if (f.tag.isContextSpecific(1)) ms += Number(BigInt('0x' + (f.value.toString('hex') || '0'))) / 1000;
  }
  if (!Number.isFinite(ms) || ms < 0 || ms > 86_400_000) bad('accuracy out of range');
  return ms;
}

/**
 * Verifies a TimeStampToken over `signature` against the TSA trust anchors.
 *
 * @throws OcitrustError NOTATION_TIMESTAMP_INVALID
 */
export function verifyTimestamp(token: Uint8Array, signature: Uint8Array, anchors: readonly Cert[]): VerifiedTimestamp {
  if (anchors.length === 0) bad('no tsa trust store certificates to verify it with');
  let ts: RFC3161Timestamp;
  let tstInfo: ASN1Obj;
  let genTime: Date;
  try {
    ts = RFC3161Timestamp.parse(asResponse(token));
    if (ts.contentType !== OID_SIGNED_DATA) bad(`expected CMS SignedData, got content type ${ts.contentType}`);
    if (ts.eContentType !== OID_TST_INFO) bad(`expected TSTInfo content, got ${ts.eContentType}`);
    tstInfo = ts.tstInfo.root;
    genTime = ts.tstInfo.genTime;
  } catch (e) {
    if (e instanceof OcitrustError) throw e;
    bad(`not a parsable RFC 3161 token (${e instanceof Error ? e.message.slice(0, 100) : 'error'})`);
  }
  try {
    // 1. The message imprint is the hash of the signature value.
    const imprint = sub(tstInfo, 2);
    const imprintHash = HASHES[sub(sub(imprint, 0), 0).toOID()];
    if (!imprintHash) bad('unsupported message imprint hash');
    if (!createHash(imprintHash).update(signature).digest().equals(sub(imprint, 1).value)) bad('the message imprint is not the hash of this signature');
    // 2. The signed attributes' message digest is the hash of the TSTInfo.
    const signedData = sub(ts.root.subs[1]!.subs.find((s) => s.tag.isContextSpecific(0)), 0);
    const signerInfos = signedData.subs[signedData.subs.length - 1]!;
    if (signerInfos.subs.length !== 1) bad(`expected one signer, got ${signerInfos.subs.length}`);
    const signerInfo = sub(signerInfos, 0);
    const attrsIdx = signerInfo.subs.findIndex((s) => s.tag.isContextSpecific(0));
    if (attrsIdx < 0) bad('no signed attributes');
    const attrs = signerInfo.subs[attrsIdx]!;
    const digestAlg = HASHES[sub(sub(signerInfo, 2), 0).toOID()];
    if (!digestAlg) bad('unsupported signer digest algorithm');
    const md = attrs.subs.find((a) => a.subs[0]?.tag.isOID() && a.subs[0].toOID() === OID_MESSAGE_DIGEST);
    if (!md || !createHash(digestAlg).update(tstInfo.toDER()).digest().equals(sub(sub(md, 1), 0).value)) bad('the signed message digest does not match the TSTInfo');
    // 3. The TSA certificate named by the signer identifier signed the attributes.
    const sigAlgOid = sub(sub(signerInfo, attrsIdx + 1), 0).toOID();
    const kind = SIG_ALGS[sigAlgOid];
    if (!kind) bad(`unsupported signature algorithm ${sigAlgOid}`);
    const certsField = signedData.subs.find((s) => s.tag.isContextSpecific(0));
    const tokenCerts = (certsField?.subs ?? []).slice(0, MAX_TOKEN_CERTS + 1);
    if (tokenCerts.length > MAX_TOKEN_CERTS) bad(`more than ${MAX_TOKEN_CERTS} certificates`);
    const certs = tokenCerts.map((c, i) => parseCert(c.toDER(), `TSA certificate ${i}`));
    const sid = sub(signerInfo, 1);
    const serial = sub(sid, 1).value.toString('hex').replace(/^(00)+(?=.)/, '').toUpperCase();
    const signer = certs.find((c) => c.node.serialNumber.replace(/^(00)+(?=.)/, '').toUpperCase() === serial) ?? anchors.find((c) => c.node.serialNumber.replace(/^(00)+(?=.)/, '').toUpperCase() === serial);
    if (!signer) bad('the token does not carry the TSA certificate that signed it');
    const signed = Buffer.from(attrs.toDER());
    signed[0] = 0x31; // RFC 5652 §5.4: the signature is over the SET OF encoding.
    const sigValue = sub(signerInfo, attrsIdx + 2).value;
    const ok = cryptoVerify(digestAlg, signed, kind === 'rsa' ? { key: signer.node.publicKey, padding: constants.RSA_PKCS1_PADDING } : signer.node.publicKey, sigValue);
    if (!ok) bad('the TSA signature does not verify');
    // 4. The TSA chain reaches a tsa trust store certificate, every link valid at genTime.
    checkLeaf(signer, EKU_TIME_STAMPING, 'time stamping');
    const chain = buildChain(signer, certs, anchors);
    for (const c of chain) {
      if (genTime < c.notBefore || genTime > c.notAfter) bad(`TSA certificate "${c.subject}" was not valid at the timestamp ${genTime.toISOString()}`);
    }
    const acc = accuracyMs(tstInfo);
    return Object.freeze({ genTime, earliest: new Date(genTime.getTime() - acc), latest: new Date(genTime.getTime() + acc), tsa: signer.subject, chain: Object.freeze(chain) });
  } catch (e) {
    if (e instanceof OcitrustError) {
      if (e.code === 'NOTATION_TIMESTAMP_INVALID') throw e;
      bad(e.message);
    }
    bad(`malformed token (${e instanceof Error ? e.message.slice(0, 100) : 'error'})`);
  }
}

/** Leaf → … → a trust anchor, through the token's certificates; bounded, no repeats. */
function buildChain(leaf: Cert, pool: readonly Cert[], anchors: readonly Cert[]): Cert[] {
  const chain = [leaf];
  const used = new Set([leaf.thumbprint]);
  let cur = leaf;
  for (let depth = 0; depth < MAX_TSA_CHAIN; depth++) {
    if (anchors.some((a) => a.thumbprint === cur.thumbprint)) return chain;
    const anchor = anchors.find((a) => issuedBy(cur, a) && isIssuingCa(a));
    if (anchor) {
      chain.push(anchor);
      return chain;
    }
    const next = pool.find((c) => !used.has(c.thumbprint) && issuedBy(cur, c) && isIssuingCa(c));
    if (!next) bad(`the TSA certificate chain from "${leaf.subject}" does not reach a tsa trust store certificate`);
    chain.push(next);
    used.add(next.thumbprint);
    cur = next;
  }
  bad(`the TSA certificate chain is longer than ${MAX_TSA_CHAIN}`);
}
