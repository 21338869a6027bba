// Issue 17: the admission webhook of the inside trust server decides on images loaded from a
// bundle, with trust data from its read-only mirror (`trust server import`); a revocation made
// outside reaches it with the next bundle. The verifying proxy inside (a trust server with the
// proxy plugin in front of the inside registry, the same bundles imported into its own data
// folder) serves the image and refuses it after the revocation, as the webhook does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { startAdmissionWorld, postReview, type AdmissionWorld } from '../helpers/admission-world.js';
import { podReview } from '../helpers/admission-review.js';
import { makeImage } from '../helpers/oci-layout.js';
import { proxyFace } from '../helpers/faces.js';
import { startProxyServer, type ProxyServer } from '../helpers/proxy.js';
import { parsePolicy } from '../../lib/policy/index.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';

function exits(r: TrustRun, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe('admission inside an air gap, from imported trust data (issue 17)', { timeout: 600_000 }, () => {
  let outTs: TestTrustServer;
  let outReg: EmbeddedRegistry;
  let world: AdmissionWorld;
  let outside: CliSession;
  let inside: CliSession;
  let work: string;
  let repo: string;
  let proxy: ProxyServer | undefined;

  before(async () => {
    outTs = await startTrustServer();
    outReg = await startEmbeddedRegistry();
    world = await startAdmissionWorld({ admission: { trustRefreshSeconds: 0, cache: { ttlMs: 1, negativeTtlMs: 1 } } });
    outside = new CliSession({ server: outTs.url, token: await outTs.token() });
    inside = new CliSession({ server: world.url, token: world.token });
    work = await mkdtemp(join(tmpdir(), 'ocitrust-airgap-adm-'));
    repo = `${outReg.host}/team/app`;
    exits(await outside.run(['key', 'generate', 'alice', '--dir', work]), 0, 'key');
    exits(await outside.run(['init', repo]), 0, 'init');
    exits(await outside.run(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]), 0, 'signer add');
    const image = makeImage();
    const client = new HttpRegistryClient({ credentials: anonymous });
    const ref = { registry: outReg.host, path: 'team/app' };
    for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
    exits(await outside.run(['sign', `${repo}:v1`]), 0, 'sign');
  });

  after(async () => {
    await proxy?.close();
    await world?.close();
    await outReg?.close();
    await outTs?.close();
    outside?.cleanup();
    inside?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('allowed with the first bundle, denied after the revocation arrives with the next (webhook and proxy)', async () => {
    const host = new URL(world.url).host;
    const policyText = `version: 1\nrules:\n  - name: mirror\n    images: ["${host}/mirror/**"]\n    identityRemap: {from: ${host}/mirror, to: ${outReg.host}}\nunmatched: deny\n`;
    const proxyData = join(work, 'proxy-data');
    proxy = await startProxyServer({ upstream: world.url, policy: parsePolicy(policyText), app: { dataDir: proxyData } });
    const importBundle = async (tar: string): Promise<void> => {
      exits(await inside.run(['server', 'import', '--data', join(world.dir, 'data'), tar]), 0, 'import');
      exits(await inside.run(['server', 'import', '--data', proxyData, tar]), 0, 'import into the proxy');
      // The import ran in another process on the SQLite file: drop the server's cached head
      // now rather than waiting for its cache lifetime (PostgreSQL would notify it).
      world.server.app.ocitrust.trust.invalidate(repo);
      proxy!.server.app.ocitrust.trust.invalidate(repo);
      proxy!.plugin.enforcer!.invalidate(repo);
    };
    const first = join(work, 'first.tar');
    exits(await outside.run(['save', '--out', first, `${repo}:v1`]), 0, 'save');
    await importBundle(first);
    exits(await inside.run(['load', first, '--to', `${host}/mirror`]), 0, 'load');
    await world.usePolicy(policyText);
    const image = `${host}/mirror/team/app:v1`;
    const ok = await postReview(world.url, 'validate', podReview({ namespace: 'prod', images: [image] }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.response.allowed, true, JSON.stringify(ok.body));
    const served = await proxyFace(proxy.url, image);
    assert.equal(served.decision, 'allow', served.raw);

    exits(await outside.run(['revoke', '--reason', 'compromised', `${repo}:v1`]), 0, 'revoke');
    const second = join(work, 'second.tar');
    exits(await outside.run(['save', '--out', second, `${repo}:v1`]), 0, 'save again');
    await importBundle(second);
    world.verifier().clear();
    const denied = await postReview(world.url, 'validate', podReview({ namespace: 'prod', images: [image] }));
    assert.equal(denied.body.response.allowed, false, JSON.stringify(denied.body));
    assert.match(JSON.stringify(denied.body.response.status), /SIG_REVOKED/);
    const refused = await proxyFace(proxy.url, image);
    assert.deepEqual([refused.decision, refused.codes], ['deny', ['SIG_REVOKED']], refused.raw);
  });
});
