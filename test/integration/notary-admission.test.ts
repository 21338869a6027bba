// The admission webhooks decide by a notaryV1 rule (issue 15 item 2): a real trust server with
// its webhooks and embedded registry (test/helpers/admission-world.ts), the real Notary stack
// (test/helpers/notary.ts), a policy whose rule names the Notary server and the pinned root.
// The webhooks keep the Notary state in memory and never trust a root on first use.
// Without notary, docker-registry or skopeo the suite skips locally and FAILS under CI=true.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference } from '../../lib/reference.js';
import { startAdmissionWorld, postReview, type AdmissionWorld } from '../helpers/admission-world.js';
import { podReview } from '../helpers/admission-review.js';
import { dctMissing, startDct, type DctWorld } from '../helpers/notary.js';
import { makeImage } from '../helpers/oci-layout.js';

const skip = dctMissing() ?? false;

describe('admission webhooks with a notaryV1 rule (real Notary, trust server)', { skip, timeout: 300_000 }, () => {
  let w: DctWorld;
  let aw: AdmissionWorld;

  before(async () => {
    w = await startDct();
    aw = await startAdmissionWorld();
  });
  after(async () => {
    await aw?.close();
    await w?.stop();
  });

  async function push(tag: string) {
    const ref = parseReference(`${aw.host}/team/app:${tag}`);
    const img = makeImage();
    for (const b of img.blobs) await aw.registry.pushBlob(ref, b.bytes);
    await aw.registry.putManifest(ref, tag, img.manifest.bytes, img.manifest.mediaType);
    return { digest: img.manifest.digest, size: img.manifest.bytes.length, bytes: img.manifest.bytes };
  }

  it('allows the tag signed with docker trust, denies an unsigned one and another root', async () => {
    // The images live in the trust server's registry; their Notary GUN is named by `gun:`.
    await w.initRepo('adm/app');
    const alice = await w.newSigner('alice');
    await w.addSigner('adm/app', alice);
    const signed = await push('v1');
    await push('unsigned');
    await w.sign('adm/app', 'v1', signed, [alice]);
    const rule = (root: string) => [
      'version: 1',
      'rules:',
      '  - name: legacy',
      `    images: ["${aw.host}/team/**"]`,
      '    notaryV1:',
      `      server: ${w.notary.url}`,
      `      root: ${root}`,
      `      ca: ${w.notary.caPath}`,
      `      gun: ${w.gun('adm/app')}`,
      'unmatched: deny',
      '',
    ].join('\n');
    await aw.usePolicy(rule(w.rootCertFile('adm/app')));
    const ok = await postReview(aw.url, 'validate', podReview({ namespace: 'default', images: [`${aw.host}/team/app:v1`] }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.response.allowed, true, JSON.stringify(ok.body.response.status));
    const no = await postReview(aw.url, 'validate', podReview({ namespace: 'default', images: [`${aw.host}/team/app:unsigned`] }));
    assert.equal(no.body.response.allowed, false);
    assert.match(JSON.stringify(no.body.response.status), /NOTARY_TARGET_MISSING/);
    await aw.usePolicy(rule(alice.certPath), 'other-root.yaml');
    const other = await postReview(aw.url, 'validate', podReview({ namespace: 'default', images: [`${aw.host}/team/app:v1`] }));
    assert.equal(other.body.response.allowed, false);
    assert.match(JSON.stringify(other.body.response.status), /NOTARY_ROOT_NOT_TRUSTED/);
  });
});
