// Attack (issue 12 item 1): a revoked signature comes back when its envelope is re-encoded.
// A revocation that names the SHA-256 of the envelope's bytes is bypassed by anyone who can
// push to the registry: JSON whitespace, key order, base64 alphabet or padding, an unknown
// field or an extra junk signature all change those bytes without touching the signature.
// Played end to end with the real `trust` binary (dist bundle), a trust server and Debian's
// docker-registry (tag fallback), images pushed by skopeo: sign, revoke that one signature,
// then push re-encoded copies of the revoked envelope as new referrers. Each must stay
// refused (exit 1, SIG_REVOKED). A new statement signed later is a new signature and counts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { descriptorOf, makeImage, missingPrograms, skopeoPush, writeOciLayout, type TestImage } from '../helpers/oci-layout.js';
import { CliSession, failureCodes, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { listSignatures, pushSignature } from '../../lib/oci/referrers.js';
import { checkSignatureManifest } from '../../lib/oci/signature-artifact.js';
import { digestOf } from '../../lib/crypto/hash.js';
import { randomSecretSeed } from '../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../lib/keys/signer.js';
import { serializeEnvelope } from '../../lib/statements/dsse.js';
import { signStatement } from '../../lib/statements/sign.js';
import { buildSignatureStatement } from '../../lib/statements/statement.js';

const skip = missingPrograms('docker-registry', 'skopeo');

/** Re-encodings an attacker can apply to envelope JSON without touching any signature. */
const REENCODINGS: readonly { readonly name: string; apply(env: EnvelopeJSON): string }[] = [
  { name: 'indent=1', apply: (e) => JSON.stringify(e, null, 1) },
  {
    name: 'key order reversed, unknown field, base64url without padding',
    apply: (e) => JSON.stringify({
      zzz: 'unknown field',
      signatures: e.signatures.map((s) => ({ sig: toUrl(s.sig), keyid: s.keyid })),
      payloadType: e.payloadType,
      payload: toUrl(e.payload),
    }),
  },
  {
    name: 'keyid hint changed and a junk signature appended',
    apply: (e) => JSON.stringify({
      ...e,
      signatures: [...e.signatures.map((s) => ({ ...s, keyid: 'f'.repeat(64) })), { keyid: 'junk', sig: Buffer.alloc(64, 7).toString('base64') }],
    }),
  },
];

interface EnvelopeJSON {
  payload: string;
  payloadType: string;
  signatures: { keyid: string; sig: string }[];
}

function toUrl(b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

describe('attack: re-encoding a revoked envelope (issue 12 item 1)', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: Distribution;
  let s: CliSession;
  let work: string;
  const client = new HttpRegistryClient({ credentials: anonymous });
  const run = (args: string[]): Promise<TrustRun> => s.run(args, { dist: true });
  const ok = (r: TrustRun, what: string): void => assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);

  before(async () => {
    ts = await startTrustServer();
    reg = await startDistribution();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-attack-reencode-'));
    ok(await run(['key', 'generate', 'alice', '--dir', work]), 'key generate');
  });
  after(async () => {
    await reg?.stop();
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function signedImage(name: string): Promise<{ repo: string; image: TestImage; ref: { registry: string; path: string } }> {
    const repo = `${reg.host}/attack/${name}`;
    ok(await run(['init', repo]), 'init');
    ok(await run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]), 'signer add');
    const image = makeImage();
    const dir = join(work, name);
    await writeOciLayout(dir, [{ tag: 'v1', content: image }]);
    await skopeoPush(dir, 'v1', `${repo}:v1`);
    ok(await run(['sign', `${repo}:v1`]), 'sign');
    ok(await run(['verify', `${repo}:v1`]), 'verify before revocation');
    return { repo, image, ref: { registry: reg.host, path: `attack/${name}` } };
  }

  test('revoke --envelope, then every re-encoded copy pushed as a new referrer stays refused', async () => {
    const { repo, image, ref } = await signedImage('reencoded');
    // The attacker keeps the envelope blob (the registry still serves it after revocation).
    const [d] = (await listSignatures(client, ref, image.manifest.digest, { complete: true })).descriptors;
    const layer = checkSignatureManifest(await client.getManifest(ref, d!.digest), image.manifest.digest);
    const original = await client.getBlob(ref, layer.digest, { size: layer.size });

    const inspect = await run(['inspect', '-o', 'json', `${repo}:v1`]);
    ok(inspect, 'inspect');
    const envelopeDigest = (JSON.parse(inspect.stdout) as { signatures: { envelopeDigest: string }[] }).signatures[0]!.envelopeDigest;
    assert.equal(envelopeDigest, layer.digest);
    const rev = await run(['revoke', '-o', 'json', '--envelope', envelopeDigest, '--reason', 'leaked build', `${repo}:v1`]);
    ok(rev, 'revoke --envelope');
    // The revocation names the key and the signed PAE, never the envelope bytes.
    const keys = JSON.parse((await run(['key', 'list', '-o', 'json'])).stdout) as { keys: { name: string; keyid: string }[] };
    const sigs = (JSON.parse(rev.stdout) as { signatures: { key: string; pae: string }[] }).signatures;
    assert.deepEqual(sigs.map((x) => x.key), [keys.keys.find((k) => k.name === 'alice')!.keyid]);
    const after = JSON.parse((await run(['inspect', '-o', 'json', `${repo}:v1`])).stdout) as { trust: { revocations: Record<string, unknown>[] } };
    assert.deepEqual(after.trust.revocations.map((r) => [r.signature, r.envelope]), [[{ key: sigs[0]!.key, pae: sigs[0]!.pae }, undefined]]);
    const revoked = await run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(revoked.code, 1, revoked.stdout);

    const json = JSON.parse(new TextDecoder().decode(original)) as EnvelopeJSON;
    for (const re of REENCODINGS) {
      const bytes = new TextEncoder().encode(re.apply(json));
      await pushSignature(client, ref, descriptorOf(image.manifest), bytes);
      const r = await run(['verify', '-o', 'json', `${repo}:v1`]);
      assert.equal(r.code, 1, `${re.name}: the re-encoded envelope verified\n${r.stdout}\n${r.stderr}`);
      assert.ok(failureCodes(r).includes('SIG_REVOKED'), `${re.name}: ${failureCodes(r).join()}`);
    }
  });

  test('revoke refuses to publish what revokes nothing: unknown envelope, unknown signer (exit 2)', async () => {
    const { repo, image, ref } = await signedImage('refused');
    const missing = await run(['revoke', '--envelope', `sha256:${'0'.repeat(64)}`, `${repo}:v1`]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /\[REVOKE_ENVELOPE_NOT_FOUND\]/);
    const typo = await run(['revoke', '--signer', 'alcie', `${repo}:v1`]);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /\[METADATA_ROLE_NOT_FOUND\]/);
    // An envelope no delegated key signed (a stranger's) has no signature to name.
    const stranger = new SeedSigner(randomSecretSeed());
    const statement = buildSignatureStatement({ repository: repo, digest: image.manifest.digest, tag: 'v1', mediaType: image.manifest.mediaType, size: image.manifest.size, role: 'alice', signedAt: new Date() });
    const foreign = serializeEnvelope(await signStatement(statement, [stranger]));
    await pushSignature(client, ref, descriptorOf(image.manifest), foreign);
    const unsigned = await run(['revoke', '--envelope', digestOf(foreign), `${repo}:v1`]);
    assert.equal(unsigned.code, 2, unsigned.stderr);
    assert.match(unsigned.stderr, /\[REVOKE_SIGNATURE_UNVERIFIED\]/);
    ok(await run(['verify', `${repo}:v1`]), 'nothing was revoked');
    // Role names match regardless of case: ALICE names alice.
    const upper = await run(['revoke', '-o', 'json', '--signer', 'ALICE', `${repo}:v1`]);
    ok(upper, 'revoke --signer ALICE');
    assert.equal(JSON.parse(upper.stdout).role, 'alice');
    assert.equal((await run(['verify', `${repo}:v1`])).code, 1);
  });

  test('a new statement signed after the revocation is a new signature: it verifies', async () => {
    const { repo, image, ref } = await signedImage('resigned');
    const inspect = JSON.parse((await run(['inspect', '-o', 'json', `${repo}:v1`])).stdout) as { signatures: { envelopeDigest: string }[] };
    ok(await run(['revoke', '--envelope', inspect.signatures[0]!.envelopeDigest, '--reason', 'bad', `${repo}:v1`]), 'revoke --envelope');
    assert.equal((await run(['verify', `${repo}:v1`])).code, 1);
    // --expires makes the statement differ from the revoked one whatever the second.
    ok(await run(['sign', '--expires', '30d', `${repo}:v1`]), 're-sign');
    const r = await run(['verify', '-o', 'json', `${repo}:v1`]);
    ok(r, 'verify the new signature');
    assert.ok((await listSignatures(client, ref, image.manifest.digest, { complete: true })).descriptors.length >= 1);
  });
});
