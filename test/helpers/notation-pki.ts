// A real test PKI for Notation made with openssl (root CA → code-signing leaves with a CRL
// distribution point, one of them revoked with `openssl ca -revoke`, the CRL made with
// `openssl ca -gencrl`), and Notation JWS envelopes signed with node:crypto in the format of
// the Notary Project signature spec, so that the signed descriptor is one the test chooses.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { encode as cborEncode, Tag } from 'cbor2';
import { join } from 'node:path';

/** A certificate with its key. */
export interface Issued {
  readonly name: string;
  readonly certPem: string;
  readonly der: Uint8Array;
  readonly keyPem: string;
  readonly serial: string;
}

/** The test PKI. */
export interface TestPki {
  readonly dir: string;
  readonly root: Issued;
  /** Issues a code-signing leaf (EC P-256) under the root; `crlUrl` becomes its CRL distribution point. */
  leaf(name: string, o?: { crlUrl?: string; days?: number; codeSigning?: boolean }): Issued;
  /** Revokes a certificate in the CA database. */
  revoke(cert: Issued): void;
  /** The current CRL, DER. */
  crl(): Uint8Array;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Makes a root CA (EC P-256) in a fresh folder. */
export function makePki(subjectPrefix = '/C=US/ST=WA/O=ocitrust test'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-pki-'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const cnf = (crlUrl?: string, codeSigning = true): string => `
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = ${dir}/index.txt
crlnumber = ${dir}/crlnumber
serial = ${dir}/serial
certificate = ${dir}/root.pem
private_key = ${dir}/root.key
new_certs_dir = ${dir}
default_md = sha256
default_crl_days = 30
policy = policy_any
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
${codeSigning ? 'extendedKeyUsage = codeSigning' : 'extendedKeyUsage = serverAuth'}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
${crlUrl ? `crlDistributionPoints = URI:${crlUrl}` : ''}
`;
  writeFileSync(join(dir, 'ca.cnf'), cnf());
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'root.key', '-subj', `${subjectPrefix}/CN=Test Root`, '-days', '3650', '-config', 'ca.cnf', '-extensions', 'v3_root', '-out', 'root.pem', '-set_serial', '1'], dir);
  const load = (name: string): Issued => {
    const certPem = readFileSync(join(dir, `${name}.pem`), 'utf8');
    const x = new X509Certificate(certPem);
    return { name, certPem, der: new Uint8Array(x.raw), keyPem: readFileSync(join(dir, `${name}.key`), 'utf8'), serial: x.serialNumber };
  };
  const root = load('root');
  let serial = 0x2000;
  return {
    dir,
    root,
    leaf(name, o = {}) {
      writeFileSync(join(dir, `${name}.cnf`), cnf(o.crlUrl, o.codeSigning ?? true));
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
      openssl(['req', '-new', '-key', `${name}.key`, '-subj', `${subjectPrefix}/CN=${name}`, '-config', `${name}.cnf`, '-out', `${name}.csr`], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', String(serial++), '-days', String(o.days ?? 365), '-extfile', `${name}.cnf`, '-extensions', 'v3_leaf', '-out', `${name}.pem`], dir);
      return load(name);
    },
    revoke(cert) {
      openssl(['ca', '-config', 'ca.cnf', '-revoke', `${cert.name}.pem`], dir);
    },
    crl() {
      openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'root.crl'], dir);
      openssl(['crl', '-in', 'root.crl', '-outform', 'DER', '-out', 'root.crl.der'], dir);
      return new Uint8Array(readFileSync(join(dir, 'root.crl.der')));
    },
  };
}

/** What a test JWS signs and how. */
export interface JwsSpec {
  readonly target: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  readonly signer: Issued;
  /** Certificates after the leaf (default: none). */
  readonly chain?: readonly Uint8Array[];
  readonly signingScheme?: string;
  readonly signingTime?: Date;
  readonly expiry?: Date;
  /** Extra protected headers, and names added to crit. */
  readonly extra?: Record<string, unknown>;
  readonly extraCrit?: readonly string[];
}

const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

/** A Notation JWS envelope (ES256, JSON serialization), signed with node:crypto. */
export function signJws(s: JwsSpec): Uint8Array {
  const scheme = s.signingScheme ?? 'notary.x509';
  const time = (s.signingTime ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const timeKey = scheme === 'notary.x509.signingAuthority' ? 'io.cncf.notary.authenticSigningTime' : 'io.cncf.notary.signingTime';
  const crit = ['io.cncf.notary.signingScheme', ...(scheme === 'notary.x509.signingAuthority' ? [timeKey] : []), ...(s.expiry ? ['io.cncf.notary.expiry'] : []), ...(s.extraCrit ?? [])];
  const protectedHeader = {
    alg: 'ES256',
    crit,
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': scheme,
    [timeKey]: time,
    ...(s.expiry ? { 'io.cncf.notary.expiry': s.expiry.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    ...(s.extra ?? {}),
  };
  const p = b64u(JSON.stringify(protectedHeader));
  const payload = b64u(JSON.stringify({ targetArtifact: s.target }));
  const sig = cryptoSign('sha256', Buffer.from(`${p}.${payload}`), { key: createPrivateKey(s.signer.keyPem), dsaEncoding: 'ieee-p1363' });
  const env = {
    payload,
    protected: p,
    header: { x5c: [s.signer.der, ...(s.chain ?? [])].map((d) => Buffer.from(d).toString('base64')), 'io.cncf.notary.signingAgent': 'ocitrust-test/1.0' },
    signature: b64u(sig),
  };
  return new TextEncoder().encode(JSON.stringify(env));
}

/** A Notation COSE_Sign1 envelope (ES256), signed with node:crypto over the RFC 9052 Sig_structure. */
export function signCose(s: JwsSpec): Uint8Array {
  const scheme = s.signingScheme ?? 'notary.x509';
  const timeKey = scheme === 'notary.x509.signingAuthority' ? 'io.cncf.notary.authenticSigningTime' : 'io.cncf.notary.signingTime';
  const crit = ['io.cncf.notary.signingScheme', ...(scheme === 'notary.x509.signingAuthority' ? [timeKey] : []), ...(s.expiry ? ['io.cncf.notary.expiry'] : []), ...(s.extraCrit ?? [])];
  const ph = new Map<unknown, unknown>([
    [1, -7],
    [2, crit],
    [3, 'application/vnd.cncf.notary.payload.v1+json'],
    ['io.cncf.notary.signingScheme', scheme],
    // cbor2 writes a Date as tag 1 (epoch seconds), the spec's encoding of the time headers.
    [timeKey, new Date(Math.floor((s.signingTime ?? new Date()).getTime() / 1000) * 1000)],
    ...(s.expiry ? [['io.cncf.notary.expiry', new Date(Math.floor(s.expiry.getTime() / 1000) * 1000)] as [unknown, unknown]] : []),
    ...Object.entries(s.extra ?? {}),
  ]);
  const protectedBytes = cborEncode(ph);
  const payload = new TextEncoder().encode(JSON.stringify({ targetArtifact: s.target }));
  const toSign = cborEncode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const sig = new Uint8Array(cryptoSign('sha256', toSign, { key: createPrivateKey(s.signer.keyPem), dsaEncoding: 'ieee-p1363' }));
  const unprotected = new Map<unknown, unknown>([
    [33, [s.signer.der, ...(s.chain ?? [])].map((d) => new Uint8Array(d))],
    ['io.cncf.notary.signingAgent', 'ocitrust-test/1.0'],
  ]);
  return cborEncode(new Tag(18, [protectedBytes, unprotected, payload, sig]));
}

/** SHA-256 thumbprints (hex) of a chain, for the signature manifest annotation. */
export function thumbprints(chain: readonly Uint8Array[]): string[] {
  return chain.map((c) => createHash('sha256').update(c).digest('hex'));
}

/** A scratch folder. */
export function scratch(prefix = 'ocitrust-notation-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(d, { recursive: true });
  return d;
}
