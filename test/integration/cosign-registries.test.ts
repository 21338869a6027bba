// cosign signatures and Sigstore bundles found in real registries and decided by policy
// (issue 16): docker-registry (no referrers API: the bundle is found through the fallback
// index) and ocitrust's embedded registry (referrers API). The signed image is
// go-containerregistry's empty image, whose manifest and config are reproduced byte for byte
// so that cosign's real OCI attestation bundle (../shared/vectors/peers) verifies for it. The
// containers/image captures sign manifests whose blobs are not in the fixtures, so a registry
// would refuse those manifests; their real signatures are pushed here under the empty image's
// `.sig` tag, where the digest they sign does not match (deny), and their valid cases run
// against the exact manifest bytes in test/unit/cosign/peers.test.ts.
// Faces: `trust verify -o json --policy` and `trust verify-manifests` (the shipped bundle) and
// the validating admission webhook, and the verifying proxy (a trust server with the proxy plugin
// in front of each registry, the same policy): a manifest GET is 200 or 403 with the same code;
// so does the embedded registry's own pull gate (a trust server with registryEnforcement),
// which reads the signatures from its store, not over HTTP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parsePolicy } from '../../lib/index.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { DOCKER_MANIFEST, OCI_INDEX } from '../../lib/oci/types.js';
import { parseReference } from '../../lib/reference.js';
import { CliSession } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { startFacesWorld, type FacesWorld } from '../helpers/faces-world.js';
import { admissionFace, manifestsFace, proxyFace, verifyFace } from '../helpers/faces.js';
import { startProxyServer, type ProxyServer } from '../helpers/proxy.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from '../helpers/trust-server.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { registryEnforcement } from '../../server/proxy/embedded.js';
import {
  COSIGN_TESTDATA, EMPTY_IMAGE_CONFIG, EMPTY_IMAGE_DIGEST, EMPTY_IMAGE_MANIFEST, FIXTURES,
  pushBundleReferrer, pushCosignSignatures, pushImage, readSignatureFile,
} from '../helpers/cosign-artifacts.js';

describe('cosign and Sigstore bundles in real registries, decided by policy', { timeout: 300_000 }, () => {
  let w: FacesWorld;
  let emb: EmbeddedRegistry;
  let cli: CliSession;
  let policyFile: string;
  let proxies: ProxyServer[] = [];
  let gated: RunningServer | undefined;
  const client = new HttpRegistryClient({ credentials: anonymous, retry: { maxAttempts: 2 } });

  /** Pushes the empty image under `host/path:v1`, with what `extra` adds. */
  async function image(host: string, path: string, extra: (ref: ReturnType<typeof parseReference>) => Promise<unknown>): Promise<string> {
    const ref = parseReference(`${host}/${path}:v1`);
    const digest = await pushImage(client, ref, EMPTY_IMAGE_MANIFEST, DOCKER_MANIFEST, [EMPTY_IMAGE_CONFIG], 'v1');
    assert.equal(digest, EMPTY_IMAGE_DIGEST);
    await extra(ref);
    return `${host}/${path}:v1`;
  }
  const subject = { digest: EMPTY_IMAGE_DIGEST, size: EMPTY_IMAGE_MANIFEST.length, mediaType: DOCKER_MANIFEST };
  const bundle = readFileSync(`${COSIGN_TESTDATA}/oci-attestation.sigstore.json`);

  before(async () => {
    w = await startFacesWorld();
    emb = await startEmbeddedRegistry();
    cli = new CliSession();
    for (const host of [w.host, emb.host]) {
      await image(host, 'cosign/attested', (ref) => pushBundleReferrer(client, ref, subject, bundle));
      await image(host, 'cosign/unsigned', async () => undefined);
      // A real cosign signature, but of another manifest (containers/image's dir-img-cosign-valid).
      await image(host, 'cosign/othersig', (ref) => pushCosignSignatures(client, ref, EMPTY_IMAGE_DIGEST, [readSignatureFile(`${FIXTURES}/dir-img-cosign-valid/signature-1`)]));
      // A `.sig` tag that is an index: never read as signatures.
      await image(host, 'cosign/sigindex', async (ref) => {
        const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: DOCKER_MANIFEST, digest: EMPTY_IMAGE_DIGEST, size: EMPTY_IMAGE_MANIFEST.length }] }));
        await client.putManifest(ref, `${EMPTY_IMAGE_DIGEST.replace(':', '-')}.sig`, index, OCI_INDEX);
      });
    }
    const rule = (host: string) => [
      `  - name: cosign-${host.replace(/[^0-9]/g, '')}`,
      `    images: ["${host}/cosign/**"]`,
      '    cosign:',
      `      trustedRoot: ${resolve(COSIGN_TESTDATA, 'trusted_root_pgi.json')}`,
      '      identities: [{issuer: "https://github.com/login/oauth", subject: "cody@soyland.com"}]',
      `      keys: [${resolve(FIXTURES, 'cosign.pub')}]`,
    ];
    const text = ['version: 1', 'rules:', ...rule(w.host), ...rule(emb.host), 'unmatched: deny', ''].join('\n');
    policyFile = join(w.dir, 'cosign-policy.yaml');
    writeFileSync(policyFile, text);
    w.setAdmissionPolicy(parsePolicy(text));
    proxies = [await startProxyServer({ upstream: w.registry.url, policy: parsePolicy(text) }), await startProxyServer({ upstream: emb.url, policy: parsePolicy(text) })];
  });

  after(async () => {
    for (const p of proxies) await p.close();
    await gated?.close();
    cli?.cleanup();
    await emb?.close();
    await w?.close();
  });

  it('the embedded registry\'s pull gate (signatures from its own store) decides the four images as the proxy does', async () => {
    const NAME = 'registry.test';
    const dataDir = join(w.dir, 'gated');
    const policy = parsePolicy(readFileSync(policyFile, 'utf8').replaceAll(emb.host, NAME));
    const enforcement = registryEnforcement({ registryName: NAME, registryDataDir: join(dataDir, 'registry'), policy });
    gated = await startServer({
      dataDir, port: 0, secret: TEST_SECRET, scrypt: TEST_SCRYPT, logger: false, handleSignals: false, resignIntervalMs: 0, auditPruneIntervalMs: 0, cacheTtlMs: 0,
      plugins: [enforcement.plugin],
      registryOptions: { registryName: NAME, beforeManifestGet: enforcement.beforeManifestGet },
    });
    const host = new URL(gated.url).host;
    const token = await tokenFor(gated.app, 'admin', ['**'], 'pusher');
    const pusher = new HttpRegistryClient({ credentials: async () => ({ username: 'pusher', password: token }), retry: { maxAttempts: 2 } });
    const push = async (path: string, extra: (ref: ReturnType<typeof parseReference>) => Promise<unknown>) => {
      const ref = parseReference(`${host}/${path}:v1`);
      await pushImage(pusher, ref, EMPTY_IMAGE_MANIFEST, DOCKER_MANIFEST, [EMPTY_IMAGE_CONFIG], 'v1');
      await extra(ref);
    };
    await push('cosign/attested', (ref) => pushBundleReferrer(pusher, ref, subject, bundle));
    await push('cosign/unsigned', async () => undefined);
    await push('cosign/othersig', (ref) => pushCosignSignatures(pusher, ref, EMPTY_IMAGE_DIGEST, [readSignatureFile(`${FIXTURES}/dir-img-cosign-valid/signature-1`)]));
    await push('cosign/sigindex', async (ref) => {
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: DOCKER_MANIFEST, digest: EMPTY_IMAGE_DIGEST, size: EMPTY_IMAGE_MANIFEST.length }] }));
      await pusher.putManifest(ref, `${EMPTY_IMAGE_DIGEST.replace(':', '-')}.sig`, index, OCI_INDEX);
    });
    const ok = await proxyFace(gated.url, `${NAME}/cosign/attested:v1`);
    assert.equal(ok.decision, 'allow', ok.raw);
    for (const [path, code] of [['unsigned', 'COSIGN_NO_SIGNATURES'], ['othersig', 'COSIGN_DIGEST_MISMATCH'], ['sigindex', 'COSIGN_SIG_NOT_MANIFEST']] as const) {
      const o = await proxyFace(gated.url, `${NAME}/cosign/${path}:v1`);
      assert.deepEqual([o.decision, o.codes], ['deny', [code]], `${path}: ${o.raw}`);
    }
  });

  for (const which of ['docker-registry (fallback index)', 'embedded registry (referrers API)'] as const) {
    const host = () => (which.startsWith('docker') ? w.host : emb.host);

    it(`${which}: the attestation bundle verifies; trust verify reports its format and identity`, async () => {
      const run = await cli.run(['verify', '-o', 'json', '--policy', policyFile, `${host()}/cosign/attested:v1`], { dist: true, timeoutMs: 90_000 });
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      const r = JSON.parse(run.stdout).results[0];
      assert.equal(r.verified, true);
      assert.equal(r.digest, EMPTY_IMAGE_DIGEST);
      assert.deepEqual(r.signatures.map((s: { format: string; identity?: { subject: string; issuer: string } }) => [s.format, s.identity]), [['sigstore-bundle', { subject: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' }]]);
      const text = await cli.run(['verify', '--policy', policyFile, `${host()}/cosign/attested:v1`], { dist: true, timeoutMs: 90_000 });
      assert.match(text.stdout, /verified {2}sigstore-bundle cody@soyland\.com from https:\/\/github\.com\/login\/oauth \(2025-02-28T19:18:11Z\)/);
    });

    it(`${which}: the admission webhook allows the attested image and denies the others with their codes`, async () => {
      assert.deepEqual((await admissionFace(w.validate, `${host()}/cosign/attested:v1`)).decision, 'allow');
      const unsigned = await admissionFace(w.validate, `${host()}/cosign/unsigned:v1`);
      assert.deepEqual([unsigned.decision, unsigned.codes], ['deny', ['COSIGN_NO_SIGNATURES']], unsigned.raw);
      const other = await admissionFace(w.validate, `${host()}/cosign/othersig:v1`);
      assert.deepEqual([other.decision, other.codes], ['deny', ['COSIGN_DIGEST_MISMATCH']], other.raw);
      const idx = await admissionFace(w.validate, `${host()}/cosign/sigindex:v1`);
      assert.deepEqual([idx.decision, idx.codes], ['deny', ['COSIGN_SIG_NOT_MANIFEST']], idx.raw);
    });

    it(`${which}: the verifying proxy serves the attested image and refuses the others with the same codes`, async () => {
      const proxy = () => proxies[which.startsWith('docker') ? 0 : 1]!.url;
      const ok = await proxyFace(proxy(), `${host()}/cosign/attested:v1`);
      assert.equal(ok.decision, 'allow', ok.raw);
      for (const [path, code] of [['unsigned', 'COSIGN_NO_SIGNATURES'], ['othersig', 'COSIGN_DIGEST_MISMATCH'], ['sigindex', 'COSIGN_SIG_NOT_MANIFEST']] as const) {
        const o = await proxyFace(proxy(), `${host()}/cosign/${path}:v1`);
        assert.deepEqual([o.decision, o.codes], ['deny', [code]], `${path}: ${o.raw}`);
      }
    });

    it(`${which}: trust verify-manifests allows the attested image and denies the unsigned one`, async () => {
      const name = which.startsWith('docker') ? 'd' : 'e';
      assert.equal((await manifestsFace(cli, policyFile, `${host()}/cosign/attested:v1`, w.dir, `${name}-ok`)).decision, 'allow');
      const o = await manifestsFace(cli, policyFile, `${host()}/cosign/unsigned:v1`, w.dir, `${name}-unsigned`);
      assert.deepEqual([o.decision, o.codes], ['deny', ['COSIGN_NO_SIGNATURES']], o.raw);
    });

    it(`${which}: trust verify denies the same three with exit 1 and the same codes`, async () => {
      for (const [path, code] of [['unsigned', 'COSIGN_NO_SIGNATURES'], ['othersig', 'COSIGN_DIGEST_MISMATCH'], ['sigindex', 'COSIGN_SIG_NOT_MANIFEST']] as const) {
        const o = await verifyFace(cli, policyFile, `${host()}/cosign/${path}:v1`);
        assert.equal(o.decision, 'deny', o.raw);
        assert.ok(o.codes.includes(code), `${path}: ${o.raw}`);
      }
    });
  }
});
