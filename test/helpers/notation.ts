// Notation test material: trust store folders and trust policy files in Notation's own layout,
// written to a temporary folder (the verifier reads them as a user's files).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';

/** PEM text of a certificate given as DER or PEM bytes. */
export function toPem(cert: Uint8Array | string): string {
  if (typeof cert === 'string') return cert;
  const t = Buffer.from(cert).toString('latin1');
  if (t.includes('-----BEGIN')) return t;
  return new X509Certificate(cert).toString();
}

/** Writes `<root>/x509/<type>/<name>/<i>.pem` for each certificate; returns root. */
export function writeTrustStore(root: string, stores: Record<string, readonly (Uint8Array | string)[]>): string {
  for (const [key, certs] of Object.entries(stores)) {
    const [type, name] = key.split(':') as [string, string];
    const dir = join(root, 'x509', type, name);
    mkdirSync(dir, { recursive: true });
    certs.forEach((c, i) => writeFileSync(join(dir, `cert${i}.pem`), toPem(c)));
  }
  return root;
}

/** One trust policy statement, with defaults: scope *, strict, trustedIdentities *. */
export interface StatementSpec {
  name?: string;
  registryScopes?: string[];
  level?: string;
  override?: Record<string, string>;
  verifyTimestamp?: string;
  trustStores: string[];
  trustedIdentities?: string[];
}

/** The JSON of a trust policy document. */
export function trustPolicyJson(statements: readonly StatementSpec[]): string {
  return JSON.stringify({
    version: '1.0',
    trustPolicies: statements.map((s, i) => ({
      name: s.name ?? `p${i}`,
      registryScopes: s.registryScopes ?? ['*'],
      signatureVerification: { level: s.level ?? 'strict', ...(s.override ? { override: s.override } : {}), ...(s.verifyTimestamp ? { verifyTimestamp: s.verifyTimestamp } : {}) },
      ...(s.level === 'skip' ? {} : { trustStores: s.trustStores, trustedIdentities: s.trustedIdentities ?? ['*'] }),
    })),
  }, null, 2);
}

/** A temporary folder with `trustpolicy.json` and `truststore/`; returns both paths. */
export function notationDir(statements: readonly StatementSpec[], stores: Record<string, readonly (Uint8Array | string)[]>): { dir: string; trustPolicy: string; trustStore: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ocitrust-notation-'));
  const trustPolicy = join(dir, 'trustpolicy.json');
  writeFileSync(trustPolicy, trustPolicyJson(statements));
  const trustStore = writeTrustStore(join(dir, 'truststore'), stores);
  return { dir, trustPolicy, trustStore };
}
