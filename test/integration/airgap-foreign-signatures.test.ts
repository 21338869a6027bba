// Issue 17: `trust save` / `trust load` and `trust copy` carry every signature of an image, not
// only ocitrust's: an image signed by ocitrust, with a real cosign Sigstore bundle (referrer), a
// cosign `sha256-<hex>.sig` tag and a Notation signature (referrer), in Debian's docker-registry
// (no referrers API: fallback index) and in the embedded registry (referrers API). Each is saved
// and loaded into the other registry kind, and copied there; `trust verify` under one policy
// (`ocitrust: true` + `cosign:` + `notation:`, require all) decides the copies as it decides the
// originals, with every artifact's digest unchanged. A layout whose Notation envelope was
// altered is refused with a coded error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { missingPrograms } from '../helpers/oci-layout.js';
import {
  COSIGN_TESTDATA, EMPTY_IMAGE_CONFIG, EMPTY_IMAGE_DIGEST, EMPTY_IMAGE_MANIFEST, FIXTURES,
  pushBundleReferrer, pushCosignSignatures, pushImage, readSignatureFile,
} from '../helpers/cosign-artifacts.js';
import { makePki, signJws, thumbprints, type Issued, type TestPki } from '../helpers/notation-pki.js';
import { notationDir } from '../helpers/notation.js';
import { pushNotationSignature } from '../helpers/notation-push.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { listReferrers } from '../../lib/oci/referrers.js';
import { DOCKER_MANIFEST } from '../../lib/oci/types.js';

const skip = missingPrograms('docker-registry', 'openssl');
const SIG_TAG = `${EMPTY_IMAGE_DIGEST.replace(':', '-')}.sig`;

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

interface Result {
  verified: boolean;
  digest: string;
  signatures: { format?: string }[];
  failures: { code: string }[];
}

describe('save / load / copy carry cosign and Notation signatures along with ocitrust\'s (issue 17)', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let dist: Distribution;
  let emb: EmbeddedRegistry;
  let crl: Server;
  let pki: TestPki;
  let signer: Issued;
  let s: CliSession;
  let work: string;
  let policy: string;
  const client = new HttpRegistryClient({ credentials: anonymous, retry: { maxAttempts: 2 } });
  const sources = () => [
    { name: 'docker-registry', host: dist.host, path: 'fromdist/app', other: emb.host },
    { name: 'embedded', host: emb.host, path: 'fromemb/app', other: dist.host },
  ];

  /** Referrer digests by artifactType, and the cosign tag's digest, of the image in `host/path`. */
  async function artifacts(host: string, path: string): Promise<{ referrers: string[]; sigTag: string }> {
    const repo = { registry: host, path };
    const l = await listReferrers(client, repo, EMPTY_IMAGE_DIGEST, { complete: true });
    const referrers = l.descriptors.map((d) => `${d.artifactType} ${d.digest}`).sort();
    return { referrers, sigTag: (await client.getManifest(repo, SIG_TAG)).digest };
  }

  async function verify(image: string): Promise<Result> {
    const r = await s.run(['verify', '-o', 'json', '--policy', policy, image], { dist: true, timeoutMs: 120_000 });
    assert.ok(r.code === 0 || r.code === 1, `${image}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return (JSON.parse(r.stdout) as { results: Result[] }).results[0]!;
  }

  const summary = (r: Result) => ({ verified: r.verified, digest: r.digest, formats: r.signatures.map((x) => x.format).sort(), failures: r.failures.map((f) => f.code).sort() });

  before(async () => {
    crl = createServer((req, res) => (req.url === '/root.crl' ? res.end(Buffer.from(pki.crl())) : res.writeHead(404).end()));
    await new Promise<void>((r) => crl.listen(0, '127.0.0.1', r));
    pki = makePki();
    signer = pki.leaf('release', { crlUrl: `http://127.0.0.1:${(crl.address() as AddressInfo).port}/root.crl` });
    ts = await startTrustServer();
    dist = await startDistribution();
    emb = await startEmbeddedRegistry();
    s = new CliSession({ server: ts.url, token: await ts.token() });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-foreign-'));
    exits(await s.run(['key', 'generate', 'alice', '--dir', work], { dist: true }), 0, 'key generate');
    const bundle = readFileSync(`${COSIGN_TESTDATA}/oci-attestation.sigstore.json`);
    const subject = { digest: EMPTY_IMAGE_DIGEST, size: EMPTY_IMAGE_MANIFEST.length, mediaType: DOCKER_MANIFEST };
    for (const src of sources()) {
      const repo = `${src.host}/${src.path}`;
      const ref = { registry: src.host, path: src.path };
      assert.equal(await pushImage(client, ref, EMPTY_IMAGE_MANIFEST, DOCKER_MANIFEST, [EMPTY_IMAGE_CONFIG], 'v1'), EMPTY_IMAGE_DIGEST);
      exits(await s.run(['init', repo], { dist: true }), 0, 'init');
      exits(await s.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo], { dist: true }), 0, 'signer add');
      exits(await s.run(['sign', `${repo}:v1`], { dist: true }), 0, 'sign');
      await pushBundleReferrer(client, ref, subject, bundle);
      // A real cosign signature (of another manifest: the scheme reports it, the bundle verifies).
      await pushCosignSignatures(client, ref, EMPTY_IMAGE_DIGEST, [readSignatureFile(`${FIXTURES}/dir-img-cosign-valid/signature-1`)]);
      const env = signJws({ target: subject, signer, chain: [pki.root.der] });
      await pushNotationSignature(client, ref, subject, env, { thumbprints: thumbprints([signer.der, pki.root.der]) });
    }
    const n = notationDir(
      [{ name: 'partner', registryScopes: ['*'], trustStores: ['ca:partner'], trustedIdentities: ['x509.subject: C=US, ST=WA, O=ocitrust test, CN=release'] }],
      { 'ca:partner': [pki.root.der] },
    );
    const schemes = [
      '    ocitrust: true',
      '    cosign:',
      `      trustedRoot: ${resolve(COSIGN_TESTDATA, 'trusted_root_pgi.json')}`,
      '      identities: [{issuer: "https://github.com/login/oauth", subject: "cody@soyland.com"}]',
      '    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}',
      '    require: all',
    ];
    const lines = ['version: 1', 'rules:'];
    for (const src of sources()) {
      for (const kind of ['loaded', 'copied']) {
        lines.push(`  - name: ${kind}-${src.path.split('/')[0]}`, `    images: ["${src.other}/${kind}/${src.path}"]`, `    identityRemap: {from: "${src.other}/${kind}", to: "${src.host}"}`, ...schemes);
      }
      lines.push(`  - name: original-${src.path.split('/')[0]}`, `    images: ["${src.host}/${src.path}"]`, ...schemes);
    }
    lines.push('unmatched: deny', '');
    policy = join(n.dir, 'policy.yaml');
    await writeFile(policy, lines.join('\n'));
  });

  after(async () => {
    await emb?.close();
    await dist?.stop();
    await ts?.close();
    await new Promise<void>((r) => (crl ? crl.close(() => r()) : r()));
    s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the originals verify under ocitrust + cosign + notation (require all)', async () => {
    for (const src of sources()) {
      const r = summary(await verify(`${src.host}/${src.path}:v1`));
      assert.equal(r.verified, true, `${src.name}: ${JSON.stringify(r)}`);
      assert.deepEqual(r.formats, ['notation', 'ocitrust', 'sigstore-bundle'].sort(), `${src.name}: ${JSON.stringify(r)}`);
    }
  });

  for (const name of ['docker-registry', 'embedded'] as const) {
    test(`${name} → save → load into the other registry kind: every signature travels, digests unchanged, verifies as the original`, async () => {
      const src = sources().find((x) => x.name === name)!;
      const tar = join(work, `${src.path.split('/')[0]}.tar`);
      const save = await s.run(['save', '--out', tar, `${src.host}/${src.path}:v1`], { dist: true, timeoutMs: 120_000 });
      exits(save, 0, 'save');
      assert.match(save.stderr, /4 signature\(s\) \[/, save.stderr);
      const load = await s.run(['load', tar, '--to', `${src.other}/loaded`], { dist: true, timeoutMs: 120_000 });
      exits(load, 0, 'load');
      assert.match(load.stderr, /ocitrust 1/);
      assert.match(load.stderr, /notation 1/);
      assert.match(load.stderr, /sigstore bundle 1/);
      assert.match(load.stderr, /cosign signature tag 1/);
      // The `.sig` tag travels with its image; it is not loaded as an image of its own.
      assert.equal(load.stderr.match(/loaded /g)?.length, 1, load.stderr);
      assert.deepEqual(await artifacts(src.other, `loaded/${src.path}`), await artifacts(src.host, src.path));
      assert.deepEqual(summary(await verify(`${src.other}/loaded/${src.path}:v1`)), summary(await verify(`${src.host}/${src.path}:v1`)));
    });

    test(`${name} → trust copy into the other registry kind: the same`, async () => {
      const src = sources().find((x) => x.name === name)!;
      const r = await s.run(['copy', `${src.host}/${src.path}:v1`, `${src.other}/copied/${src.path}`], { dist: true, timeoutMs: 120_000 });
      exits(r, 0, 'copy');
      assert.match(r.stdout, /4 signature\(s\)/);
      assert.deepEqual(await artifacts(src.other, `copied/${src.path}`), await artifacts(src.host, src.path));
      const copy = summary(await verify(`${src.other}/copied/${src.path}:v1`));
      assert.equal(copy.verified, true, JSON.stringify(copy));
      assert.deepEqual(copy, summary(await verify(`${src.host}/${src.path}:v1`)));
    });
  }

  test('a layout whose Notation envelope does not match its digest: load refuses with a coded error', async () => {
    const src = sources()[1]!;
    const dir = join(work, 'tampered');
    exits(await s.run(['save', '--out', dir, `${src.host}/${src.path}:v1`], { dist: true, timeoutMs: 120_000 }), 0, 'save to a folder');
    const l = await listReferrers(client, { registry: src.host, path: src.path }, EMPTY_IMAGE_DIGEST, { artifactType: 'application/vnd.cncf.notary.signature' });
    const m = await client.getManifest({ registry: src.host, path: src.path }, l.descriptors[0]!.digest);
    const layer = (m.manifest as { layers: { digest: string }[] }).layers[0]!;
    const file = join(dir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const bytes = await readFile(file);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1;
    await writeFile(file, bytes);
    const r = await s.run(['load', dir, '--to', `${src.other}/tampered`, '-o', 'json'], { dist: true, timeoutMs: 120_000 });
    assert.notEqual(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
    assert.match(r.stdout + r.stderr, /LAYOUT_BLOB_MISMATCH|BLOB_DIGEST_MISMATCH/);
    assert.match(r.stdout + r.stderr, new RegExp(layer.digest));
  });
});
