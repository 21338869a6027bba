/**
 * Certificate revocation for Notation signatures through CRLs (RFC 5280 §5; the Notary Project
 * signature spec, "Certificate Revocation Evaluation"): every certificate of the signing chain
 * but the root is looked up in the CRL its CRL distribution points name. CRLs are fetched over
 * http(s) with a size and time bound, verified with the issuing certificate (the next one in
 * the chain), and cached in memory until their nextUpdate. A certificate without distribution
 * points cannot be revoked (notation's "non-revokable": OK). A CRL that cannot be fetched,
 * parsed or verified, has expired, or carries a critical extension this checker does not
 * process (delta CRLs, issuing distribution points) makes the status `unknown`; what unknown
 * means is the trust policy's `revocation` action (strict enforces: fail closed).
 */
import { verify as cryptoVerify, constants } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList, Name } from '@peculiar/asn1-x509';
import { OcitrustError } from '../errors/index.js';
import { defaultFetch, type FetchFunction } from '../http/fetch.js';
import { readBoundedBody } from '../http/read.js';
import { cancelBody } from '../http/body.js';
import { crlDistributionPoints, type Cert } from './x509.js';
import type { RevocationChecker, RevocationStatus } from './verify.js';

/** Options of {@link createCrlChecker}. */
export interface CrlCheckerOptions {
  readonly fetch?: FetchFunction;
  /** Largest CRL accepted (bytes, default 8 MiB). */
  readonly maxCrlBytes?: number;
  /** Per-request timeout (ms, default 10 s). */
  readonly timeoutMs?: number;
  /** Most CRLs kept in the cache (default 256). */
  readonly maxCached?: number;
  /** No network: only cached CRLs count; others are unknown. */
  readonly offline?: boolean;
}

const SIG_ALGS: Record<string, { hash: string; kind: 'rsa' | 'ecdsa' }> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', kind: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', kind: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', kind: 'rsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', kind: 'ecdsa' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', kind: 'ecdsa' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', kind: 'ecdsa' },
};

/** A parsed, verified CRL. */
interface CrlEntry {
  readonly issuerThumbprint: string;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  readonly revoked: ReadonlySet<string>;
}

const normSerial = (hex: string): string => hex.toUpperCase().replace(/^(00)+(?=.)/, '').replace(/^0(?=.)/, '');

/** The raw DER of the first element of the outer SEQUENCE (tbsCertList), as signed. */
function firstElement(der: Uint8Array): Uint8Array {
  const len = (at: number): [number, number] => {
    const b = der[at]!;
    if (b < 0x80) return [b, at + 1];
    const n = b & 0x7f;
    if (n === 0 || n > 4) throw new Error('bad DER length');
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + der[at + 1 + i]!;
    return [v, at + 1 + n];
  };
  if (der[0] !== 0x30) throw new Error('not a SEQUENCE');
  const [, inner] = len(1);
  if (der[inner] !== 0x30) throw new Error('tbsCertList is not a SEQUENCE');
  const [l, body] = len(inner + 1);
  if (body + l > der.length) throw new Error('truncated');
  return der.subarray(inner, body + l);
}

/**
 * Parses a DER CRL and verifies it was issued by `issuer`.
 *
 * @throws Error (any reason the CRL cannot be used; the caller reports "unknown")
 */
export function parseCrl(der: Uint8Array, issuer: Cert): CrlEntry {
  const crl = AsnConvert.parse(der, CertificateList);
  const tbs = crl.tbsCertList;
  const alg = SIG_ALGS[crl.signatureAlgorithm.algorithm];
  if (!alg || crl.signatureAlgorithm.algorithm !== tbs.signature.algorithm) throw new Error(`unsupported CRL signature algorithm ${crl.signatureAlgorithm.algorithm}`);
  const sig = new Uint8Array(crl.signature);
  const key = issuer.node.publicKey;
  const ok = cryptoVerify(alg.hash, firstElement(der), alg.kind === 'rsa' ? { key, padding: constants.RSA_PKCS1_PADDING } : key, sig);
  if (!ok) throw new Error(`the CRL is not signed by "${issuer.subject}"`);
  const issuerName = Buffer.from(AsnConvert.serialize(tbs.issuer));
  const subjectOfIssuer = Buffer.from(AsnConvert.serialize(tbsSubject(issuer)));
  if (!issuerName.equals(subjectOfIssuer)) throw new Error(`the CRL issuer is not "${issuer.subject}"`);
  for (const e of tbs.crlExtensions ?? []) {
    // Critical CRL extensions this checker does not process (delta CRL indicator, issuing
    // distribution point) would change what the list means: refuse rather than guess.
    if (e.critical) throw new Error(`the CRL has a critical extension ${e.extnID} this verifier does not process`);
  }
  const revoked = new Set<string>();
  for (const r of tbs.revokedCertificates ?? []) {
    for (const e of r.crlEntryExtensions ?? []) if (e.critical) throw new Error(`a CRL entry has a critical extension ${e.extnID}`);
    revoked.add(normSerial(Buffer.from(r.userCertificate).toString('hex')));
  }
  const thisUpdate = tbs.thisUpdate.getTime();
  const nextUpdate = tbs.nextUpdate?.getTime();
  return Object.freeze({ issuerThumbprint: issuer.thumbprint, thisUpdate, ...(nextUpdate ? { nextUpdate } : {}), revoked });
}

/** The subject Name of a certificate (from its DER). */
function tbsSubject(c: Cert): Name {
  return AsnConvert.parse(c.der, Certificate).tbsCertificate.subject;
}

/** Creates a CRL revocation checker with its own cache. */
export function createCrlChecker(o: CrlCheckerOptions = {}): RevocationChecker & { readonly fetches: number; clear(): void } {
  const fetchFn = o.fetch ?? defaultFetch;
  const maxBytes = o.maxCrlBytes ?? 8 * 1024 * 1024;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxCached = o.maxCached ?? 256;
  const cache = new Map<string, CrlEntry>();
  let fetches = 0;

  async function download(url: string): Promise<Uint8Array> {
    fetches++;
    const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (res.status !== 200) {
      await cancelBody(res).catch(() => undefined);
      throw new Error(`GET ${url} answered ${res.status}`);
    }
    return readBoundedBody(res, maxBytes, () => new OcitrustError('NOTATION_REVOCATION_UNKNOWN', `CRL at ${url} is larger than ${maxBytes} bytes`));
  }

  /** The CRL of `url` for `issuer`, fresh at `now`, from the cache or the network. */
  async function crlFor(url: string, issuer: Cert, now: Date): Promise<CrlEntry> {
    const key = `${url}\n${issuer.thumbprint}`;
    const fresh = (e: CrlEntry): boolean => e.thisUpdate.getTime() <= now.getTime() + 300_000 && (e.nextUpdate === undefined || now < e.nextUpdate);
    const hit = cache.get(key);
    if (hit && fresh(hit)) return hit;
    if (o.offline) throw new Error(`offline, and no fresh cached CRL from ${url}`);
    const entry = parseCrl(await download(url), issuer);
    if (!fresh(entry)) throw new Error(`the CRL from ${url} is not current (thisUpdate ${entry.thisUpdate.toISOString()}, nextUpdate ${entry.nextUpdate?.toISOString() ?? 'none'})`);
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > maxCached) cache.delete(cache.keys().next().value!);
    return entry;
  }

  return {
    get fetches() {
      return fetches;
    },
    clear: () => cache.clear(),
    async check(chain: readonly Cert[], now: Date): Promise<RevocationStatus> {
      // The root is trusted by being in the trust store; every other certificate is checked.
      for (let i = chain.length - 2; i >= 0; i--) {
        const cert = chain[i]!;
        const issuer = chain[i + 1]!;
        const urls = crlDistributionPoints(cert);
        if (urls === undefined) return { status: 'unknown', subject: cert.subject, reason: 'its CRL distribution point extension is malformed or names no http(s) URL' };
        if (urls.length === 0) continue;
        const reasons: string[] = [];
        let decided: boolean | undefined;
        for (const url of urls) {
          try {
            const crl = await crlFor(url, issuer, now);
            decided = crl.revoked.has(normSerial(cert.node.serialNumber));
            break;
          } catch (e) {
            reasons.push(e instanceof Error ? e.message.slice(0, 200) : String(e));
          }
        }
        if (decided === undefined) return { status: 'unknown', subject: cert.subject, reason: reasons.join('; ') };
        if (decided) return { status: 'revoked', subject: cert.subject };
      }
      return { status: 'ok' };
    },
  };
}
