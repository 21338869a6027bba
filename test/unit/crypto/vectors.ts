// Loaders for the external vectors in ../shared/vectors (read-only, see its README.md files).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** /work/shared/vectors, found relative to the project root's parent. */
export const VECTORS = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'vectors');

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One Ed25519 verify case, labelled so that a failure names it. */
export interface VerifyCase {
  label: string;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  /** Wycheproof/RFC result; CCTV cases have none (no single right answer). */
  result?: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
}

interface WycheproofFile {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }[] }[];
}

export function wycheproof(): { numberOfTests: number; cases: VerifyCase[] } {
  const f = JSON.parse(readFileSync(join(VECTORS, 'wycheproof', 'ed25519_test.json'), 'utf8')) as WycheproofFile;
  const cases = f.testGroups.flatMap((g, gi) =>
    g.tests.map((t) => ({
      label: `wycheproof tc${t.tcId} (group ${gi}, ${t.result}${t.flags.length ? ', ' + t.flags.join('+') : ''}): ${t.comment}`,
      publicKey: hex(g.publicKey.pk),
      message: hex(t.msg),
      signature: hex(t.sig),
      result: t.result,
      flags: t.flags,
    })),
  );
  return { numberOfTests: f.numberOfTests, cases };
}

export interface Rfc8032Vector {
  test: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
  result: string;
}

export function rfc8032(): Rfc8032Vector[] {
  return (JSON.parse(readFileSync(join(VECTORS, 'rfc8032', 'rfc8032-7.1-ed25519.json'), 'utf8')) as { vectors: Rfc8032Vector[] }).vectors;
}

export function rfc8032Cases(): VerifyCase[] {
  return rfc8032().map((v) => ({
    label: `RFC 8032 ${v.test}`,
    publicKey: hex(v.publicKey),
    message: hex(v.message),
    signature: hex(v.signature),
    result: 'valid' as const,
    flags: [],
  }));
}

export function cctv(): VerifyCase[] {
  const f = JSON.parse(readFileSync(join(VECTORS, 'cctv-ed25519', 'ed25519vectors.json'), 'utf8')) as { number: number; key: string; sig: string; msg: string; flags: string[] | null }[];
  return f.map((v) => ({
    label: `cctv #${v.number} [${(v.flags ?? []).join(',')}]`,
    publicKey: hex(v.key),
    message: utf8(v.msg),
    signature: hex(v.sig),
    flags: v.flags ?? [],
  }));
}

/** Every Ed25519 verify case we have: Wycheproof, RFC 8032, CCTV. */
export function allVerifyCases(): VerifyCase[] {
  return [...wycheproof().cases, ...rfc8032Cases(), ...cctv()];
}
