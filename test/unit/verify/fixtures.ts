// Shared fixtures for verifier tests: fixed seeds, a hand-built TrustedTargets and envelope
// builders. Deliberately independent of lib/metadata so verifier tests pin the contract only.
import { SeedSigner, type Signer } from '../../../lib/keys/signer.js';
import type { PublicKey } from '../../../lib/keys/key.js';
import { digestOf } from '../../../lib/crypto/hash.js';
import { fixedClock } from '../../../lib/clock.js';
import { buildSignatureStatement, type SignatureStatementInput } from '../../../lib/statements/statement.js';
import { signStatement } from '../../../lib/statements/sign.js';
import { serializeEnvelope, envelopeToJSON, signEnvelope } from '../../../lib/statements/dsse.js';
import type { TrustedRole, TrustedTargets, Revocation } from '../../../lib/verify/trust.js';
import type { VerifyInput, EnvelopeInput } from '../../../lib/verify/verifier.js';

export function seed(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

export const alice = new SeedSigner(seed(1));
export const bob = new SeedSigner(seed(2));
export const carol = new SeedSigner(seed(3));
export const mallory = new SeedSigner(seed(9));

export const REPO = 'registry.example.com/team/app';
export const MEDIA = 'application/vnd.oci.image.manifest.v1+json';
export const MANIFEST = new TextEncoder().encode('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
export const SIZE = MANIFEST.length;
export const DIGEST = digestOf(MANIFEST);
export const OTHER_DIGEST = digestOf('another manifest');
export const NOW = new Date('2026-03-01T12:00:00Z');
export const clock = fixedClock(NOW);

export function role(name: string, signers: Signer[], threshold = 1, paths = ['registry.example.com/team/*'], terminating = false): TrustedRole {
  return { name, keyids: signers.map((s) => s.keyid), threshold, paths, terminating };
}

/** releases: alice|bob (1); alice: alice (1); ops: bob+carol (2). mallory is never delegated. */
export function trust(over: Partial<TrustedTargets> = {}): TrustedTargets {
  const keys = new Map<string, PublicKey>();
  for (const s of [alice, bob, carol]) keys.set(s.keyid, s.publicKey);
  return {
    collection: REPO,
    version: 3,
    expires: new Date('2026-06-01T00:00:00Z'),
    keys,
    roles: [role('releases', [alice, bob]), role('alice', [alice]), role('ops', [bob, carol], 2)],
    revocations: [] as Revocation[],
    ...over,
  };
}

export function statementInput(over: Partial<SignatureStatementInput> = {}): SignatureStatementInput {
  return {
    repository: REPO,
    digest: DIGEST,
    tag: 'v1',
    mediaType: MEDIA,
    size: SIZE,
    role: 'releases',
    signedAt: new Date('2026-03-01T11:00:00Z'),
    ...over,
  };
}

export function asInput(bytes: Uint8Array): EnvelopeInput {
  return { bytes, digest: digestOf(bytes) };
}

/** A signature envelope by `signers` over a statement with `over` applied. */
export async function sigEnvelope(signers: Signer[], over: Partial<SignatureStatementInput> = {}): Promise<EnvelopeInput> {
  const env = await signStatement(buildSignatureStatement(statementInput(over)), signers);
  return asInput(serializeEnvelope(env));
}

/** An envelope over arbitrary payload bytes (for malformed statements). */
export async function rawEnvelope(signers: Signer[], payload: Uint8Array, payloadType = 'application/vnd.in-toto+json'): Promise<EnvelopeInput> {
  const env = await signEnvelope(payloadType, payload, signers);
  return asInput(serializeEnvelope(env));
}

export function envelopeJSON(e: EnvelopeInput): ReturnType<typeof envelopeToJSON> {
  return JSON.parse(new TextDecoder().decode(e.bytes));
}

export function input(envelopes: EnvelopeInput[], over: Partial<VerifyInput> = {}): VerifyInput {
  return {
    reference: { repository: REPO, tag: 'v1' },
    digest: DIGEST,
    subject: { mediaType: MEDIA, size: SIZE },
    envelopes,
    trust: trust(),
    policy: {},
    clock,
    ...over,
  };
}
