// Generates test-vectors/ (our published known-answer cases for the verifier; format in
// test-vectors/README.md). Deterministic: fixed seeds, fixed times, Ed25519 signatures are
// deterministic and envelopes are serialized as canonical JSON, so running it twice writes
// the same bytes. test/unit/test-vectors.test.ts checks the committed files against this
// output and runs every case.  Run: node --import tsx scripts/gen-test-vectors.ts
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SeedSigner, type Signer } from '../lib/keys/signer.js';
import { digestOf, toHex } from '../lib/crypto/hash.js';
import { encodeBase64 } from '../lib/crypto/base64.js';
import { formatTime } from '../lib/clock.js';
import { pae, parseEnvelope, serializeEnvelope, signEnvelope, envelopeToJSON } from '../lib/statements/dsse.js';
import { keyFingerprint } from '../lib/crypto/key-fingerprint.js';
import { buildSignatureStatement, buildStatement, statementBytes, type SignatureStatementInput } from '../lib/statements/statement.js';
import { signStatement } from '../lib/statements/sign.js';

/** Format identifier written into cases.json. */
export const VECTORS_FORMAT = 'ocitrust-test-vectors/v1';

const enc = new TextEncoder();
const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v, null, 2) + '\n');

interface KeyDef { name: string; seedByte: number }
const KEY_DEFS: KeyDef[] = [
  { name: 'alice', seedByte: 0x01 },
  { name: 'bob', seedByte: 0x02 },
  { name: 'carol', seedByte: 0x03 },
  { name: 'mallory', seedByte: 0x09 },
];

const REPO = 'registry.example.com/team/app';
const MIRROR = 'mirror.internal:5000/team/app';
const MANIFEST_MEDIA = 'application/vnd.oci.image.manifest.v1+json';
const MANIFEST = enc.encode(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:' + '44'.repeat(32), size: 2 },
    layers: [],
  }) + '\n',
);
const DIGEST = digestOf(MANIFEST);
const OTHER_DIGEST = digestOf('another manifest');
const NOW = '2026-03-01T12:00:00Z';
const SIGNED_AT = new Date('2026-03-01T11:00:00Z');

/** Every file of test-vectors/ (except README.md), path → bytes. */
export async function buildVectors(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const signers = new Map<string, SeedSigner>(KEY_DEFS.map((k) => [k.name, new SeedSigner(new Uint8Array(32).fill(k.seedByte))]));
  const S = (n: string) => signers.get(n)!;

  files.set(
    'keys.json',
    json(
      Object.fromEntries(
        KEY_DEFS.map((k) => {
          const s = S(k.name);
          return [k.name, { seed: toHex(new Uint8Array(32).fill(k.seedByte)), public: s.publicKey.toJSON(), keyid: s.keyid }];
        }),
      ),
    ),
  );
  files.set('manifests/app.json', MANIFEST);

  // --- trust views ----------------------------------------------------------------------
  const role = (name: string, keys: string[], threshold = 1, paths = ['registry.example.com/team/*'], terminating = false) => ({
    name,
    keyids: keys.map((k) => S(k).keyid),
    threshold,
    paths,
    terminating,
  });
  const trustDoc = (roles: ReturnType<typeof role>[], revocations: unknown[] = [], keyNames = ['alice', 'bob', 'carol']) => ({
    collection: REPO,
    version: 3,
    expires: '2026-06-01T00:00:00Z',
    keys: Object.fromEntries(keyNames.map((n) => [S(n).keyid, S(n).publicKey.toJSON()])),
    roles,
    revocations,
  });
  const defaultRoles = [role('releases', ['alice', 'bob']), role('alice', ['alice']), role('ops', ['bob', 'carol'], 2)];
  const trusts: Record<string, unknown> = {
    default: trustDoc(defaultRoles),
    'alice-removed': trustDoc([role('releases', ['bob']), role('ops', ['bob', 'carol'], 2)], [], ['bob', 'carol']),
    'paths-other-team': trustDoc([role('releases', ['alice'], 1, ['registry.example.com/other/*'])]),
    'paths-one-segment': trustDoc([role('releases', ['alice'], 1, ['registry.example.com/*'])]),
    terminating: trustDoc([role('owner', ['bob'], 1, [`${REPO}:*`], true), role('releases', ['alice'])]),
    'revoked-digest': trustDoc(defaultRoles, [{ digest: DIGEST, reason: 'key compromise', revokedAt: '2026-02-01T00:00:00Z' }]),
    'revoked-role-releases': trustDoc(defaultRoles, [{ digest: DIGEST, role: 'releases', reason: 'bad release' }]),
  };

  // --- envelopes ------------------------------------------------------------------------
  const envelopes = new Map<string, Uint8Array>();
  const stmt = (over: Partial<SignatureStatementInput> = {}): SignatureStatementInput => ({
    repository: REPO,
    digest: DIGEST,
    tag: 'v1',
    mediaType: MANIFEST_MEDIA,
    size: MANIFEST.length,
    role: 'releases',
    signedAt: SIGNED_AT,
    ...over,
  });
  const sig = async (name: string, by: string[], over: Partial<SignatureStatementInput> = {}) => {
    const env = await signStatement(buildSignatureStatement(stmt(over)), by.map(S) as Signer[]);
    envelopes.set(name, serializeEnvelope(env));
  };
  const rewrite = (name: string, from: string, f: (j: ReturnType<typeof envelopeToJSON>) => void) => {
    const j = JSON.parse(new TextDecoder().decode(envelopes.get(from)!));
    f(j);
    envelopes.set(name, enc.encode(JSON.stringify(j)));
  };
  const raw = async (name: string, by: string[], payload: Uint8Array, type = 'application/vnd.in-toto+json') => {
    envelopes.set(name, serializeEnvelope(await signEnvelope(type, payload, by.map(S) as Signer[])));
  };

  await sig('alice-releases', ['alice']);
  await sig('alice-releases-digest-only', ['alice'], { tag: undefined });
  await sig('alice-releases-later', ['alice'], { signedAt: new Date('2026-03-01T11:05:00Z') });
  await sig('alice-as-alice', ['alice'], { role: 'alice' });
  await sig('mallory-releases', ['mallory']);
  rewrite('mallory-claims-alice-keyid', 'mallory-releases', (j) => (j.signatures[0]!.keyid = S('alice').keyid));
  await sig('alice-other-digest', ['alice'], { digest: OTHER_DIGEST });
  rewrite('alice-tampered-payload', 'alice-releases', (j) => {
    j.payload = JSON.parse(new TextDecoder().decode(envelopes.get('alice-other-digest')!)).payload;
  });
  await sig('bob-ops', ['bob'], { role: 'ops' });
  await sig('bob-ops-later', ['bob'], { role: 'ops', signedAt: new Date('2026-03-01T11:30:00Z') });
  await sig('carol-ops', ['carol'], { role: 'ops' });
  await sig('bob-carol-ops', ['bob', 'carol'], { role: 'ops' });
  await sig('bob-releases', ['bob'], { role: 'releases' });
  await sig('carol-releases', ['carol'], { role: 'releases' });
  await sig('alice-admin', ['alice'], { role: 'admin' });
  await sig('bob-owner', ['bob'], { role: 'owner' });
  await sig('alice-other-repository', ['alice'], { repository: 'registry.example.com/team/other' });
  await sig('alice-wrong-size', ['alice'], { size: MANIFEST.length + 1 });
  await sig('alice-tag-v2', ['alice'], { tag: 'v2' });
  await sig('alice-future', ['alice'], { signedAt: new Date(Date.parse(NOW) + 301_000) });
  await sig('alice-within-skew', ['alice'], { signedAt: new Date(Date.parse(NOW) + 299_000) });
  await sig('alice-expired', ['alice'], { expires: new Date(NOW) });
  await sig('alice-other-repository-expired', ['alice'], { repository: 'registry.example.com/x/y', expires: new Date(NOW) });
  rewrite('alice-urlsafe-unpadded', 'alice-releases', (j) => {
    j.payload = Buffer.from(j.payload, 'base64').toString('base64url');
    j.signatures = j.signatures.map((s) => ({ ...s, sig: Buffer.from(s.sig, 'base64').toString('base64url') }));
  });
  rewrite('malformed-base64', 'alice-releases', (j) => (j.payload = j.payload.slice(0, 8) + ' ' + j.payload.slice(8)));
  envelopes.set('malformed-json', enc.encode('{"payload": "'));
  envelopes.set('malformed-shape', enc.encode('{"payload":"","payloadType":"application/vnd.in-toto+json"}'));
  const good = new TextDecoder().decode(statementBytes(buildSignatureStatement(stmt())));
  await raw('duplicate-key-payload', ['alice'], enc.encode(good.replace('"role":"releases"', '"role":"releases","role":"ops"')));
  await raw('not-a-statement', ['alice'], enc.encode('{"_type":"https://example.com/NotAStatement"}'));
  await raw('payload-type-json', ['alice'], enc.encode(good), 'application/json');
  const sbom = buildStatement([{ name: REPO, digest: { sha256: DIGEST.slice(7) } }], 'https://spdx.dev/Document', { spdxVersion: 'SPDX-2.3' });
  envelopes.set('alice-sbom-attestation', serializeEnvelope(await signStatement(sbom, [S('alice')])));

  for (const [name, bytes] of envelopes) files.set(`envelopes/${name}.json`, bytes);
  for (const [name, doc] of Object.entries(trusts)) files.set(`trust/${name}.json`, json(doc));

  // --- cases ----------------------------------------------------------------------------
  const ref = (over: Record<string, unknown> = {}) => ({ repository: REPO, tag: 'v1', ...over });
  const env = (name: string, digest?: string) => ({ file: `envelopes/${name}.json`, digest: digest ?? digestOf(envelopes.get(name)!) });
  const sigOf = (role: string, key: string, at = formatTime(SIGNED_AT)) => ({ role, keyid: S(key).keyid, signedAt: at });
  interface Case {
    name: string;
    description: string;
    reference?: Record<string, unknown>;
    envelopes: ReturnType<typeof env>[];
    trust?: string;
    policy?: Record<string, unknown>;
    now?: string;
    limits?: Record<string, number>;
    expected: { verified: boolean; failures: string[]; signatures: ReturnType<typeof sigOf>[] };
  }
  const cases: Case[] = [
    { name: 'valid-single-signer', description: 'alice signs as releases; default policy.', envelopes: [env('alice-releases')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice')] } },
    { name: 'valid-digest-reference', description: 'Verified by digest: target path <repo>@<digest>.', reference: { repository: REPO, digest: DIGEST }, envelopes: [env('alice-releases-digest-only')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice')] } },
    { name: 'valid-urlsafe-unpadded-base64', description: 'DSSE verifiers must accept URL-safe base64, unpadded.', envelopes: [env('alice-urlsafe-unpadded')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice')] } },
    { name: 'undelegated-key', description: 'mallory is not delegated.', envelopes: [env('mallory-releases')], expected: { verified: false, failures: ['SIG_KEY_NOT_DELEGATED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'forged-keyid-hint', description: "mallory's signature labelled with alice's keyid: the hint gains nothing.", envelopes: [env('mallory-claims-alice-keyid')], expected: { verified: false, failures: ['SIG_INVALID', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'tampered-payload', description: "alice's signature over another payload.", envelopes: [env('alice-tampered-payload')], expected: { verified: false, failures: ['SIG_INVALID', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'bad-envelope-does-not-veto', description: 'An undelegated signature next to a valid one is reported; the policy is still met.', envelopes: [env('mallory-releases'), env('alice-releases')], expected: { verified: true, failures: ['SIG_KEY_NOT_DELEGATED'], signatures: [sigOf('releases', 'alice')] } },
    { name: 'threshold-not-met', description: 'ops needs 2 of bob, carol; only bob signed.', envelopes: [env('bob-ops')], policy: { requiredRoles: { allOf: ['ops'] } }, expected: { verified: false, failures: ['THRESHOLD_NOT_MET', 'REQUIRED_ROLE_MISSING'], signatures: [sigOf('ops', 'bob')] } },
    { name: 'threshold-met-two-envelopes', description: 'bob and carol each sign as ops.', envelopes: [env('bob-ops'), env('carol-ops')], policy: { requiredRoles: { allOf: ['ops'] } }, expected: { verified: true, failures: [], signatures: [sigOf('ops', 'bob'), sigOf('ops', 'carol')] } },
    { name: 'threshold-met-one-envelope', description: 'One envelope with signatures by bob and carol.', envelopes: [env('bob-carol-ops')], policy: { requiredRoles: { allOf: ['ops'] } }, expected: { verified: true, failures: [], signatures: [sigOf('ops', 'bob'), sigOf('ops', 'carol')] } },
    { name: 'same-key-twice', description: 'bob signs ops twice (and one envelope is repeated): counted once; the latest signedAt is reported.', envelopes: [env('bob-ops'), env('bob-ops-later'), env('bob-ops')], policy: { requiredRoles: { allOf: ['ops'] } }, expected: { verified: false, failures: ['THRESHOLD_NOT_MET', 'REQUIRED_ROLE_MISSING'], signatures: [sigOf('ops', 'bob', '2026-03-01T11:30:00Z')] } },
    { name: 'cross-role-does-not-count', description: "bob's releases signature does not count toward ops.", envelopes: [env('bob-releases'), env('bob-ops')], policy: { requiredRoles: { allOf: ['ops'] } }, expected: { verified: false, failures: ['THRESHOLD_NOT_MET', 'REQUIRED_ROLE_MISSING'], signatures: [sigOf('releases', 'bob'), sigOf('ops', 'bob')] } },
    { name: 'key-not-in-role', description: 'carol is delegated (ops) but names releases.', envelopes: [env('carol-releases')], expected: { verified: false, failures: ['SIG_KEY_NOT_IN_ROLE', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'role-unknown', description: 'The statement names a role that is not delegated.', envelopes: [env('alice-admin')], expected: { verified: false, failures: ['SIG_ROLE_UNKNOWN', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'subject-other-repository', description: 'Same digest, another repository.', envelopes: [env('alice-other-repository')], expected: { verified: false, failures: ['STATEMENT_SUBJECT_MISMATCH', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'wrong-digest', description: 'The statement is for another digest.', envelopes: [env('alice-other-digest')], expected: { verified: false, failures: ['STATEMENT_DIGEST_MISMATCH', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'descriptor-mismatch', description: 'The predicate records another size.', envelopes: [env('alice-wrong-size')], expected: { verified: false, failures: ['STATEMENT_DESCRIPTOR_MISMATCH', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'tag-mismatch-bound', description: 'Signed for v2, verified as v1 with bindTag.', envelopes: [env('alice-tag-v2')], policy: { bindTag: true }, expected: { verified: false, failures: ['STATEMENT_TAG_MISMATCH', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'tag-untagged-bound', description: 'A statement without a tag, verified as v1 with bindTag.', envelopes: [env('alice-releases-digest-only')], policy: { bindTag: true }, expected: { verified: false, failures: ['STATEMENT_TAG_MISMATCH', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'tag-mismatch-unbound', description: 'Without bindTag the statement tag is not compared.', envelopes: [env('alice-tag-v2')], policy: { bindTag: false }, expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice')] } },
    { name: 'revoked-digest', description: 'targets revokes every signature over the digest.', trust: 'revoked-digest', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['SIG_REVOKED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'revoked-role-scoped', description: 'Revocation limited to releases.', trust: 'revoked-role-releases', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['SIG_REVOKED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'revoked-role-scoped-other-role', description: 'The same key signing as alice is not revoked by a releases-scoped revocation.', trust: 'revoked-role-releases', envelopes: [env('alice-as-alice')], expected: { verified: true, failures: [], signatures: [sigOf('alice', 'alice')] } },
    { name: 'revoked-envelope-scoped', description: 'One envelope revoked by its digest; another by the same key still counts.', trust: 'revoked-envelope', envelopes: [env('alice-releases'), env('alice-releases-later')], expected: { verified: true, failures: ['SIG_REVOKED'], signatures: [sigOf('releases', 'alice', '2026-03-01T11:05:00Z')] } },
    { name: 'revoked-signature', description: 'One signature revoked by the key that made it and the digest of the DSSE PAE it signed.', trust: 'revoked-signature', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['SIG_REVOKED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'revoked-signature-reencoded', description: 'The same signature in a re-encoded envelope (URL-safe unpadded base64: other bytes, other digest) stays revoked.', trust: 'revoked-signature', envelopes: [env('alice-urlsafe-unpadded')], expected: { verified: false, failures: ['SIG_REVOKED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'revoked-signature-new-statement', description: 'A later statement by the same key is a new signature, not covered.', trust: 'revoked-signature', envelopes: [env('alice-releases'), env('alice-releases-later')], expected: { verified: true, failures: ['SIG_REVOKED'], signatures: [sigOf('releases', 'alice', '2026-03-01T11:05:00Z')] } },
    { name: 'removed-signer', description: "alice's key is no longer delegated.", trust: 'alice-removed', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['SIG_KEY_NOT_DELEGATED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'path-not-covered', description: "The role's paths name another team.", trust: 'paths-other-team', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['SIG_PATH_NOT_COVERED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'path-star-does-not-cross-slash', description: "registry.example.com/* does not cover registry.example.com/team/app:v1.", trust: 'paths-one-segment', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['SIG_PATH_NOT_COVERED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'terminating-delegation', description: 'owner (terminating) claims the path first; releases may not vouch for it.', trust: 'terminating', envelopes: [env('alice-releases'), env('bob-owner')], expected: { verified: true, failures: ['SIG_PATH_NOT_COVERED'], signatures: [sigOf('owner', 'bob')] } },
    { name: 'signed-in-future', description: 'signedAt is 301 s ahead; skew is 300 s.', envelopes: [env('alice-future')], expected: { verified: false, failures: ['STATEMENT_FUTURE', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'signed-within-skew', description: 'signedAt is 299 s ahead; skew is 300 s.', envelopes: [env('alice-within-skew')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice', '2026-03-01T12:04:59Z')] } },
    { name: 'expired-statement', description: 'expires equals now.', envelopes: [env('alice-expired')], expected: { verified: false, failures: ['STATEMENT_EXPIRED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'trust-expired', description: 'The targets view expired; nothing is examined.', now: '2026-06-01T00:00:00Z', envelopes: [env('alice-releases')], expected: { verified: false, failures: ['TRUST_EXPIRED'], signatures: [] } },
    { name: 'reference-digest-mismatch', description: 'The reference pins another digest than the one resolved.', reference: ref({ digest: OTHER_DIGEST }), envelopes: [env('alice-releases')], expected: { verified: false, failures: ['REFERENCE_DIGEST_MISMATCH'], signatures: [sigOf('releases', 'alice')] } },
    { name: 'envelope-digest-mismatch', description: 'Envelope bytes do not hash to the digest given.', envelopes: [env('alice-releases', OTHER_DIGEST)], expected: { verified: false, failures: ['ENVELOPE_DIGEST_MISMATCH', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'no-envelopes', description: 'Nothing to verify.', envelopes: [], expected: { verified: false, failures: ['NO_SIGNATURES'], signatures: [] } },
    { name: 'malformed-base64', description: 'Whitespace inside the payload base64.', envelopes: [env('malformed-base64')], expected: { verified: false, failures: ['BASE64_MALFORMED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'malformed-json', description: 'Truncated envelope JSON.', envelopes: [env('malformed-json')], expected: { verified: false, failures: ['JSON_MALFORMED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'malformed-envelope-shape', description: 'No signatures field.', envelopes: [env('malformed-shape')], expected: { verified: false, failures: ['ENVELOPE_MALFORMED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'oversized-payload', description: 'maxPayloadBytes 100.', limits: { maxPayloadBytes: 100 }, envelopes: [env('alice-releases')], expected: { verified: false, failures: ['INPUT_TOO_LARGE', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'oversized-envelope', description: 'maxEnvelopeBytes 200.', limits: { maxEnvelopeBytes: 200 }, envelopes: [env('alice-releases')], expected: { verified: false, failures: ['INPUT_TOO_LARGE', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'duplicate-key-payload', description: 'Signed payload with "role" twice.', envelopes: [env('duplicate-key-payload')], expected: { verified: false, failures: ['JSON_DUPLICATE_KEY', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'not-a-statement', description: 'Signed payload is not an in-toto Statement v1.', envelopes: [env('not-a-statement')], expected: { verified: false, failures: ['STATEMENT_MALFORMED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'payload-type-unsupported', description: 'payloadType application/json.', envelopes: [env('payload-type-json')], expected: { verified: false, failures: ['PAYLOAD_TYPE_UNSUPPORTED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'max-signatures', description: 'maxSignatures 1: the valid second envelope is never examined.', policy: { maxSignatures: 1 }, envelopes: [env('mallory-releases'), env('alice-releases')], expected: { verified: false, failures: ['SIGNATURE_LIMIT_EXCEEDED', 'SIG_KEY_NOT_DELEGATED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'all-of', description: 'allOf releases and ops, both met.', policy: { requiredRoles: { allOf: ['releases', 'ops'] } }, envelopes: [env('alice-releases'), env('bob-carol-ops')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice'), sigOf('ops', 'bob'), sigOf('ops', 'carol')] } },
    { name: 'all-of-missing', description: 'allOf releases and ops; only releases signed.', policy: { requiredRoles: { allOf: ['releases', 'ops'] } }, envelopes: [env('alice-releases')], expected: { verified: false, failures: ['REQUIRED_ROLE_MISSING'], signatures: [sigOf('releases', 'alice')] } },
    { name: 'any-of', description: 'anyOf ops, alice; alice signed as alice.', policy: { requiredRoles: { anyOf: ['ops', 'alice'] } }, envelopes: [env('alice-as-alice')], expected: { verified: true, failures: [], signatures: [sigOf('alice', 'alice')] } },
    { name: 'any-of-missing', description: 'anyOf ops, alice; only releases signed.', policy: { requiredRoles: { anyOf: ['ops', 'alice'] } }, envelopes: [env('alice-releases')], expected: { verified: false, failures: ['REQUIRED_ROLE_MISSING'], signatures: [sigOf('releases', 'alice')] } },
    { name: 'mirror-without-remap', description: 'Pulled from a mirror; statements name the original.', reference: { repository: MIRROR, tag: 'v1' }, envelopes: [env('alice-releases')], expected: { verified: false, failures: ['STATEMENT_SUBJECT_MISMATCH', 'SIG_PATH_NOT_COVERED', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'mirror-with-remap', description: 'identityRemap maps the mirror prefix to the original.', reference: { repository: MIRROR, tag: 'v1' }, policy: { identityRemap: { from: 'mirror.internal:5000/team', to: 'registry.example.com/team' } }, envelopes: [env('alice-releases')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice')] } },
    { name: 'several-failures', description: 'Every failure is reported, in envelope order.', envelopes: [env('mallory-releases'), env('alice-other-digest'), env('alice-other-repository-expired'), env('malformed-json'), env('alice-admin')], expected: { verified: false, failures: ['SIG_KEY_NOT_DELEGATED', 'STATEMENT_DIGEST_MISMATCH', 'STATEMENT_SUBJECT_MISMATCH', 'STATEMENT_EXPIRED', 'JSON_MALFORMED', 'SIG_ROLE_UNKNOWN', 'NO_SIGNATURES'], signatures: [] } },
    { name: 'attestation-ignored', description: 'An SBOM attestation is not a signature under the default policy.', envelopes: [env('alice-sbom-attestation')], expected: { verified: false, failures: ['NO_SIGNATURES'], signatures: [] } },
    { name: 'attestation-counted', description: 'policy.predicateType asks for SBOMs; no role in the predicate, so the key counts for each role that delegates it.', policy: { predicateType: 'https://spdx.dev/Document' }, envelopes: [env('alice-sbom-attestation')], expected: { verified: true, failures: [], signatures: [sigOf('releases', 'alice', ''), sigOf('alice', 'alice', '')] } },
  ];
  // the envelope-scoped revocation names the digest of alice-releases
  files.set('trust/revoked-envelope.json', json(trustDoc(defaultRoles, [{ digest: DIGEST, envelope: digestOf(envelopes.get('alice-releases')!), reason: 'leaked' }])));
  // the signature-scoped revocation names alice's key (its fingerprint) and the PAE alice-releases signed
  const revokedEnv = parseEnvelope(envelopes.get('alice-releases')!);
  files.set('trust/revoked-signature.json', json(trustDoc(defaultRoles, [{ digest: DIGEST, signature: { key: keyFingerprint(S('alice').publicKey), pae: digestOf(pae(revokedEnv.payloadType, revokedEnv.payload)) }, reason: 'leaked' }])));

  const defaults = {
    reference: ref(),
    digest: DIGEST,
    subject: { mediaType: MANIFEST_MEDIA, size: MANIFEST.length, file: 'manifests/app.json' },
    trust: 'default',
    policy: {},
    now: NOW,
  };
  files.set(
    'cases.json',
    json({
      format: VECTORS_FORMAT,
      cases: cases.map((c) => ({
        name: c.name,
        description: c.description,
        reference: c.reference ?? defaults.reference,
        digest: DIGEST,
        subject: defaults.subject,
        envelopes: c.envelopes,
        trust: `trust/${c.trust ?? defaults.trust}.json`,
        policy: c.policy ?? {},
        now: c.now ?? NOW,
        ...(c.limits ? { limits: c.limits } : {}),
        expected: c.expected,
      })),
    }),
  );

  // DSSE PAE known answers (the spec example and one of ours).
  const paeCase = (type: string, body: Uint8Array) => ({ payloadType: type, payloadBase64: encodeBase64(body), paeHex: toHex(pae(type, body)) });
  files.set('pae.json', json([paeCase('http://example.com/HelloWorld', enc.encode('hello world')), paeCase('application/vnd.in-toto+json', enc.encode(good))]));
  return files;
}

/** Writes the vectors under `dir` (default: the repository's test-vectors/), README kept. */
export async function writeVectors(dir = fileURLToPath(new URL('../test-vectors/', import.meta.url))): Promise<number> {
  const files = await buildVectors();
  for (const sub of ['envelopes', 'trust', 'manifests']) rmSync(join(dir, sub), { recursive: true, force: true });
  for (const [rel, bytes] of files) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  }
  return files.size;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = await writeVectors();
  console.log(`wrote ${n} files to test-vectors/`);
}
