// The `trust` CLI end to end, as a separate process: the docker trust workflow (key generate,
// signer add, sign) then verify, against a trust server and Debian's docker-registry (Docker
// distribution 2.8: no referrers API, so signatures go through the tag fallback), with images
// pushed by skopeo. Every scenario asserts the exit code and the failure code that explains it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, missingPrograms, skopeoPush, writeOciLayout, type TestImage } from '../helpers/oci-layout.js';
import { CliSession, failureCodes, startTrustServer, type TestTrustServer } from '../helpers/cli.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { listSignatures, signatureTag, updateFallbackIndex } from '../../lib/oci/referrers.js';
import { checkSignatureManifest, referrerDescriptor } from '../../lib/oci/signature-artifact.js';
import { emptyBlob, OCI_MANIFEST } from '../../lib/oci/types.js';

const skip = missingPrograms('docker-registry', 'skopeo');

describe('trust CLI on docker-registry (tag fallback) and a trust server', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let reg: Distribution;
  let s: CliSession;
  let work: string;
  const client = new HttpRegistryClient({ credentials: anonymous });

  before(async () => {
    ts = await startTrustServer();
    reg = await startDistribution();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-cli-work-'));
    const alice = await s.run(['key', 'generate', 'alice', '--dir', work]);
    assert.equal(alice.code, 0, alice.stderr);
  });
  after(async () => {
    await reg?.stop();
    await ts?.close();
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  let n = 0;
  /** Pushes a fresh image as <repo>:<tag> with skopeo; returns it. */
  async function push(repo: string, tag: string, image: TestImage = makeImage()): Promise<TestImage> {
    const dir = join(work, `layout-${++n}`);
    await writeOciLayout(dir, [{ tag, content: image }]);
    await skopeoPush(dir, tag, `${repo}:${tag}`);
    return image;
  }
  /** A new collection with alice as signer. */
  async function collectionWithAlice(name: string): Promise<string> {
    const repo = `${reg.host}/cli/${name}`;
    const init = await s.run(['init', repo]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /root {9}sha256:[0-9a-f]{64} \(compare it out of band/);
    const add = await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]);
    assert.equal(add.code, 0, add.stderr);
    return repo;
  }
  function ok(r: { code: number | null; stderr: string; stdout: string }, what: string): void {
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  }

  test('key generate, signer add, sign, then verify passes (exit 0) with the documented JSON', async () => {
    const pub = await readFile(join(work, 'alice.pub'), 'utf8');
    assert.match(pub, /^-----BEGIN PUBLIC KEY-----\n/);
    const keys = JSON.parse((await s.run(['key', 'list', '-o', 'json'])).stdout) as { keys: { name: string; keyid: string }[] };
    const aliceKeyid = keys.keys.find((k) => k.name === 'alice')!.keyid;

    const repo = await collectionWithAlice('app');
    const image = await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');

    // The pinned root, exported for a service's policy, with the fingerprint to compare out of band.
    const exported = await s.run(['root', 'export', repo]);
    ok(exported, 'root export');
    const fp = `sha256:${createHash('sha256').update(exported.stdout).digest('hex')}`;
    assert.match(JSON.parse(exported.stdout).signed._type, /^root$/);
    assert.ok(exported.stderr.includes(`root of ${repo}: ${fp} (created by trust init`), exported.stderr);

    const text = await s.run(['verify', `${repo}:v1`]);
    ok(text, 'verify');
    assert.match(text.stdout, new RegExp(`verified .*alice`));

    const json = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    ok(json, 'verify -o json');
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(doc), ['results']);
    const r = doc.results[0];
    assert.deepEqual(Object.keys(r), ['reference', 'digest', 'verified', 'signatures', 'failures']);
    assert.equal(r.reference, `${repo}:v1`);
    assert.equal(r.digest, image.manifest.digest);
    assert.equal(r.verified, true);
    assert.deepEqual(r.failures, []);
    assert.equal(r.signatures.length, 1);
    assert.deepEqual(Object.keys(r.signatures[0]), ['role', 'keyid', 'signedAt', 'format']);
    assert.equal(r.signatures[0].format, 'ocitrust');
    assert.equal(r.signatures[0].role, 'alice');
    assert.equal(r.signatures[0].keyid, aliceKeyid);
    assert.match(r.signatures[0].signedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const signers = JSON.parse((await s.run(['signer', 'list', '-o', 'json', repo])).stdout);
    assert.deepEqual(
      signers.signers.map((x: { name: string; keyids: string[]; threshold: number }) => [x.name, x.keyids, x.threshold]),
      [
        ['alice', [aliceKeyid], 1],
        ['releases', [aliceKeyid], 1],
      ],
    );
  });

  test('bulk: one sign and one verify command for many images, concurrently, in order, failures reported per image', async () => {
    const repo = await collectionWithAlice('bulk');
    const tags = Array.from({ length: 12 }, (_, i) => `b${i}`);
    const images = [];
    for (const t of tags) images.push(await push(repo, t));
    const refs = tags.map((t) => `${repo}:${t}`);
    const signed = await s.run(['sign', '--concurrency', '4', '-o', 'json', ...refs]);
    ok(signed, 'bulk sign');
    const sj = JSON.parse(signed.stdout) as { results: { reference: string; digest: string }[] };
    assert.deepEqual(sj.results.map((r) => r.digest), images.map((im) => im.manifest.digest), 'results in command-line order');

    const verified = await s.run(['verify', '--concurrency', '5', '-o', 'json', ...refs]);
    ok(verified, 'bulk verify');
    const vj = JSON.parse(verified.stdout) as { results: { reference: string; verified: boolean }[] };
    assert.deepEqual(vj.results.map((r) => r.reference), refs);
    assert.ok(vj.results.every((r) => r.verified));

    // One missing tag among signed ones: the others are signed, the exit says input error.
    await push(repo, 'c0');
    const mixed = await s.run(['sign', `${repo}:c0`, `${repo}:missing`, `${repo}:b0`]);
    assert.equal(mixed.code, 2, mixed.stderr);
    assert.match(mixed.stderr, /trust: .*:missing: .*\[MANIFEST_NOT_FOUND\]/);
    assert.match(mixed.stderr, /2 of 3 images signed; 1 failed/);
    assert.doesNotMatch(mixed.stderr, /\n\s+at /);
    ok(await s.run(['verify', `${repo}:c0`]), 'the image next to the failed one was signed');

    // A malformed reference anywhere: nothing is signed.
    await push(repo, 'c1');
    const bad = await s.run(['sign', `${repo}:c1`, 'Not A Reference']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /\[REFERENCE_INVALID\]/);
    const c1 = await s.run(['verify', `${repo}:c1`]);
    assert.equal(c1.code, 1, 'c1 must not have been signed');
  });

  test('the tag moved to other content → exit 1; verifying by digest still passes', async () => {
    const repo = await collectionWithAlice('moved');
    const signed = await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');
    ok(await s.run(['verify', `${repo}:v1`]), 'verify before the move');

    await push(repo, 'v1'); // different content under the same tag
    const moved = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    assert.deepEqual(failureCodes(moved), ['NO_SIGNATURES']);
    const movedText = await s.run(['verify', `${repo}:v1`]);
    assert.equal(movedText.code, 1);
    assert.match(movedText.stdout, /NOT verified: .*\[NO_SIGNATURES\]/);

    ok(await s.run(['verify', `${repo}@${signed.manifest.digest}`]), 'verify by digest');
    // A tag and a digest that disagree: the digest is what is verified, and it is signed.
    ok(await s.run(['verify', `${repo}:v1@${signed.manifest.digest}`]), 'verify tag@digest');
  });

  test('the trust server goes away: verify fails closed (exit 3) unless --offline, which uses the cached metadata and says so; writes refuse (exit 3)', async () => {
    const repo = await collectionWithAlice('offline');
    await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');
    ok(await s.run(['verify', `${repo}:v1`]), 'verify online');
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    await new Promise<void>((r) => srv.close(() => r()));
    const closed = await s.run(['--server', dead, 'verify', `${repo}:v1`]);
    assert.equal(closed.code, 3, closed.stdout + closed.stderr);
    assert.match(closed.stderr, /\[TUF_SOURCE_UNREACHABLE\]/);
    const cached = await s.run(['verify', '--offline', `${repo}:v1`]);
    ok(cached, 'verify --offline from the cache');
    assert.match(cached.stderr, /warning: offline \(--offline\); using cached trust data of /);
    // Trust state belongs to (server, collection): another server has none to fall back on.
    const elsewhere = await s.run(['--server', dead, 'verify', '--offline', `${repo}:v1`]);
    assert.equal(elsewhere.code, 3, elsewhere.stdout + elsewhere.stderr);
    assert.match(elsewhere.stderr, /\[TUF_CACHE_STALE\]/);
    const write = await s.run(['--server', dead, 'signer', 'remove', 'alice', repo]);
    assert.equal(write.code, 3, write.stderr);
  });

  test('a second repository holding the same digest, with only the first one\'s signatures → exit 1', async () => {
    const a = await collectionWithAlice('origin');
    const image = await push(a, 'v1');
    ok(await s.run(['sign', `${a}:v1`]), 'sign');
    const b = await collectionWithAlice('other');
    // The same manifest and the very same signature manifests, copied over.
    const copy = await s.run(['copy', `${a}:v1`, `${b}:v1`]);
    ok(copy, 'copy');
    const r = await s.run(['verify', '-o', 'json', `${b}:v1`]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.results[0].digest, image.manifest.digest);
    assert.ok(failureCodes(r).includes('STATEMENT_SUBJECT_MISMATCH'), failureCodes(r).join());
    ok(await s.run(['verify', `${a}:v1`]), 'the original still verifies');
  });

  test('an ECDSA P-256 signer key (key generate --type ecdsa-p256): sign, then verify passes; another repo fails', async () => {
    ok(await s.run(['key', 'generate', 'dct-signer', '--type', 'ecdsa-p256', '--dir', work]), 'key generate --type ecdsa-p256');
    const pub = await readFile(join(work, 'dct-signer.pub'), 'utf8');
    assert.match(pub, /^-----BEGIN PUBLIC KEY-----\nMFkw/, 'an EC P-256 SPKI');
    const repo = `${reg.host}/cli/ecdsa`;
    ok(await s.run(['init', repo]), 'init');
    ok(await s.run(['signer', 'add', '--key', join(work, 'dct-signer.pub'), 'dct', repo]), 'signer add');
    await push(repo, 'v1');
    await push(repo, 'v2');
    ok(await s.run(['sign', '--signer', 'dct', '--key', 'dct-signer', `${repo}:v1`]), 'sign');
    const r = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    ok(r, 'verify');
    const res = JSON.parse(r.stdout).results[0];
    assert.equal(res.verified, true);
    assert.deepEqual(res.signatures.map((x: { role: string }) => x.role), ['dct']);
    const unsigned = await s.run(['verify', '-o', 'json', `${repo}:v2`]);
    assert.equal(unsigned.code, 1, unsigned.stdout);
  });

  test('threshold 2 with two keys: one signature → exit 1, two → exit 0', async () => {
    for (const k of ['team-k1', 'team-k2']) ok(await s.run(['key', 'generate', k, '--dir', work]), `key generate ${k}`);
    const repo = `${reg.host}/cli/threshold`;
    ok(await s.run(['init', repo]), 'init');
    ok(
      await s.run(['signer', 'add', '--key', join(work, 'team-k1.pub'), '--key', join(work, 'team-k2.pub'), '--threshold', '2', 'team', repo]),
      'signer add',
    );
    await push(repo, 'v1');
    const one = await s.run(['sign', '--signer', 'team', '--key', 'team-k1', `${repo}:v1`]);
    ok(one, 'first signature');
    assert.match(one.stderr, /needs 2 distinct keys; 1 signed here/);
    const r1 = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(r1.code, 1, r1.stdout);
    assert.ok(failureCodes(r1).includes('THRESHOLD_NOT_MET'), failureCodes(r1).join());
    // The same key signing again still counts once.
    ok(await s.run(['sign', '--signer', 'team', '--key', 'team-k1', `${repo}:v1`]), 'same key again');
    assert.equal((await s.run(['verify', `${repo}:v1`])).code, 1);

    ok(await s.run(['sign', '--signer', 'team', '--key', 'team-k2', `${repo}:v1`]), 'second signature');
    const r2 = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(r2.code, 0, r2.stdout);
    const sigs = JSON.parse(r2.stdout).results[0].signatures as { role: string }[];
    assert.deepEqual(sigs.map((x) => x.role), ['team', 'team']);
  });

  test('signer remove → exit 1', async () => {
    const repo = await collectionWithAlice('removed');
    await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');
    ok(await s.run(['verify', `${repo}:v1`]), 'verify');
    ok(await s.run(['signer', 'remove', 'alice', repo]), 'signer remove');
    const r = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(r.code, 1, r.stdout);
    assert.ok(failureCodes(r).includes('SIG_KEY_NOT_DELEGATED'), failureCodes(r).join());
    const signers = JSON.parse((await s.run(['signer', 'list', '-o', 'json', repo])).stdout);
    assert.deepEqual(signers.signers, [], 'alice is gone from releases too');
  });

  test('revoke → exit 1, and a signature pushed again after revocation stays revoked', async () => {
    const repo = await collectionWithAlice('revoked');
    const image = await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');
    ok(await s.run(['verify', `${repo}:v1`]), 'verify');
    // Keep the signature manifest and envelope, as an attacker with registry access could.
    const ref = { registry: reg.host, path: 'cli/revoked' };
    const [d] = (await listSignatures(client, ref, image.manifest.digest, { complete: true })).descriptors;
    const sig = await client.getManifest(ref, d!.digest);
    const layer = checkSignatureManifest(sig, image.manifest.digest);
    const envelope = await client.getBlob(ref, layer.digest, { size: layer.size });

    const rev = await s.run(['revoke', '-o', 'json', '--reason', 'leaked build', `${repo}:v1`]);
    ok(rev, 'revoke');
    assert.deepEqual(JSON.parse(rev.stdout).removed, [sig.digest]);
    const r1 = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(r1.code, 1, r1.stdout);
    // The referrer is gone, the revocation in the trust data is still the reason (issue 14).
    assert.deepEqual(failureCodes(r1), ['SIG_REVOKED', 'NO_SIGNATURES']);
    assert.match(r1.stdout, /leaked build/);

    // Deleting is a courtesy; the signed revocation is what counts.
    await client.pushBlob(ref, emptyBlob());
    await client.pushBlob(ref, envelope);
    await client.putManifest(ref, sig.digest, sig.bytes, OCI_MANIFEST);
    await client.putManifest(ref, signatureTag(image.manifest.digest, sig.digest), sig.bytes, OCI_MANIFEST);
    await updateFallbackIndex(client, ref, image.manifest.digest, { add: [referrerDescriptor(sig)] });
    const r2 = await s.run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(r2.code, 1, r2.stdout);
    assert.ok(failureCodes(r2).includes('SIG_REVOKED'), failureCodes(r2).join());
    assert.match(JSON.parse(r2.stdout).results[0].failures.find((f: { code: string }) => f.code === 'SIG_REVOKED').message, /leaked build/);
  });

  test('key rotation (targets, then root) keeps existing signatures verifying, for this client and a new one', async () => {
    const repo = await collectionWithAlice('rotated');
    await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');

    const t = await s.run(['key', 'rotate', '-o', 'json', repo, 'targets']);
    ok(t, 'rotate targets');
    const tr = JSON.parse(t.stdout);
    assert.equal(tr.versions.root, 2);
    assert.equal(tr.newKey.generated, true);
    assert.ok(!tr.oldKeyids.includes(tr.newKey.keyid));
    ok(await s.run(['verify', `${repo}:v1`]), 'verify after targets rotation');

    const rr = await s.run(['key', 'rotate', '-o', 'json', repo, 'root']);
    ok(rr, 'rotate root');
    assert.equal(JSON.parse(rr.stdout).versions.root, 3);
    ok(await s.run(['verify', `${repo}:v1`]), 'verify after root rotation');

    // The new targets key publishes: a change made after the rotation is accepted and seen.
    ok(await s.run(['key', 'generate', 'carol', '--dir', work]), 'key generate carol');
    ok(await s.run(['signer', 'add', '--key', join(work, 'carol.pub'), 'carol', repo]), 'signer add after rotation');

    // A client that never saw this collection trusts root v1 on first use and walks 1 → 2 → 3.
    const fresh = new CliSession({ server: ts.url });
    try {
      const r = await fresh.run(['verify', `${repo}:v1`]);
      ok(r, 'verify from a fresh home');
      assert.match(r.stderr, /first contact with .*trusting its root .*on first use \(TOFU\)/);
      const again = await fresh.run(['verify', `${repo}:v1`]);
      ok(again, 'second verify');
      assert.doesNotMatch(again.stderr, /TOFU/, 'the root is pinned now');
    } finally {
      fresh.cleanup();
    }
  });

  test('an explicitly pinned root (--root FILE): no TOFU; the root of another collection is refused (exit 1)', async () => {
    const repo = await collectionWithAlice('pinned');
    await push(repo, 'v1');
    ok(await s.run(['sign', `${repo}:v1`]), 'sign');
    const enc = repo.split('/').map(encodeURIComponent).join('/');
    const rootFile = join(work, 'pinned.root.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(rootFile, Buffer.from(await (await fetch(`${ts.url}/v1/collections/${enc}/1.root.json`)).arrayBuffer()));
    const other = await collectionWithAlice('pinned-other');
    const otherRoot = join(work, 'other.root.json');
    await writeFile(otherRoot, Buffer.from(await (await fetch(`${ts.url}/v1/collections/${other.split('/').map(encodeURIComponent).join('/')}/1.root.json`)).arrayBuffer()));

    const fresh = new CliSession({ server: ts.url });
    try {
      const r = await fresh.run(['verify', '--root', rootFile, `${repo}:v1`]);
      ok(r, 'verify with --root');
      assert.doesNotMatch(r.stderr, /TOFU/);
      const wrong = new CliSession({ server: ts.url });
      try {
        const w = await wrong.run(['verify', '-o', 'json', '--root', otherRoot, `${repo}:v1`]);
        assert.equal(w.code, 1, w.stdout + w.stderr);
        assert.match(failureCodes(w)[0]!, /^TUF_/);
      } finally {
        wrong.cleanup();
      }
    } finally {
      fresh.cleanup();
    }
  });
});
