// Issue 12 item 6 (c): an image whose repository has no trust collection is "not signed".
// `trust verify` said exit 2 COLLECTION_NOT_FOUND with advice to run `trust init`: an input
// error and a publisher's advice, where a verifier must give a verdict — exit 1, NOT_SIGNED.
// The same verdict on every face: verify, verify-manifests, policies (enforce and warn) and
// the admission webhooks. Real trust server, docker-registry, the built `trust` binary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureCodes } from '../helpers/cli.js';
import { missingPrograms } from '../helpers/oci-layout.js';
import { startSignedWorld, type SignedWorld } from '../helpers/signed-world.js';
import { startAdmissionWorld, postReview, type AdmissionWorld } from '../helpers/admission-world.js';
import { podReview } from '../helpers/admission-review.js';

const skip = missingPrograms('docker-registry');

describe('attack: verifying an image whose repository has no trust collection (CLI)', { skip, timeout: 300_000 }, () => {
  let w: SignedWorld;
  let dir: string;
  before(async () => {
    w = await startSignedWorld();
    dir = await mkdtemp(join(tmpdir(), 'ocitrust-nocoll-'));
  });
  after(async () => {
    await w?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('verify → exit 1 NOT_SIGNED, a verdict (stdout), no advice to create the collection', async () => {
    const ref = await w.unsignedImage('nobody');
    const text = await w.trust(['verify', ref]);
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /NOT verified.*\[NOT_SIGNED\]/);
    assert.doesNotMatch(text.stdout + text.stderr, /trust init|COLLECTION_NOT_FOUND/);

    const json = await w.trust(['verify', '-o', 'json', ref]);
    assert.equal(json.code, 1);
    assert.deepEqual(failureCodes(json), ['NOT_SIGNED']);
    assert.equal(JSON.parse(json.stdout).results[0].verified, false);
  });

  test('next to a signed image: the combined exit is 1 (a verdict), not 2', async () => {
    const signed = await w.signedImage('somebody');
    const unsigned = await w.unsignedImage('nobody2');
    const r = await w.trust(['verify', '-o', 'json', signed.ref, unsigned]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(failureCodes(r, 0), []);
    assert.deepEqual(failureCodes(r, 1), ['NOT_SIGNED']);
  });

  test('under a policy: enforce → exit 1 NOT_SIGNED, warn → exit 0; verify-manifests → exit 1', async () => {
    const ref = await w.unsignedImage('nobody3');
    const enforce = join(dir, 'enforce.yaml');
    await writeFile(enforce, ['version: 1', 'rules:', '  - name: all', `    images: ["${w.reg.host}/**"]`, ''].join('\n'));
    const e = await w.trust(['verify', '-o', 'json', '--policy', enforce, ref]);
    assert.equal(e.code, 1, e.stdout + e.stderr);
    assert.deepEqual(failureCodes(e), ['NOT_SIGNED']);

    const warn = join(dir, 'warn.yaml');
    await writeFile(warn, ['version: 1', 'rules:', '  - name: all', `    images: ["${w.reg.host}/**"]`, '    mode: warn', ''].join('\n'));
    const wr = await w.trust(['verify', '-o', 'json', '--policy', warn, ref]);
    assert.equal(wr.code, 0, wr.stdout + wr.stderr);
    assert.deepEqual(failureCodes(wr), ['NOT_SIGNED']);

    const manifest = join(dir, 'pod.yaml');
    await writeFile(manifest, ['apiVersion: v1', 'kind: Pod', 'metadata: {name: p}', 'spec:', '  containers:', `    - name: c`, `      image: ${ref}`, ''].join('\n'));
    const vm = await w.trust(['verify-manifests', manifest]);
    assert.equal(vm.code, 1, vm.stdout + vm.stderr);
    assert.match(vm.stdout + vm.stderr, /NOT_SIGNED/);
  });

  test('a writer (sign) still gets COLLECTION_NOT_FOUND, exit 2: creating the collection is its job', async () => {
    const ref = await w.unsignedImage('nobody4');
    const r = await w.trust(['sign', ref]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /\[COLLECTION_NOT_FOUND\]/);
  });
});

describe('attack: no trust collection in the admission webhooks', { timeout: 120_000 }, () => {
  let w: AdmissionWorld;
  before(async () => {
    w = await startAdmissionWorld();
  });
  after(async () => {
    await w?.close();
  });

  test('an image of a repository without a collection is denied as NOT_SIGNED', async () => {
    const { reference } = await w.pushImage('nocoll/app', '1');
    await w.usePolicy(['version: 1', 'rules:', '  - name: all', `    images: ["${w.host}/**"]`, ''].join('\n'));
    const r = await postReview(w.url, 'validate', podReview({ namespace: 'default', images: [reference] }));
    assert.equal(r.body.response.allowed, false);
    assert.match(r.body.response.status.message, /NOT_SIGNED/);
    assert.doesNotMatch(r.body.response.status.message, /trust init/);
  });
});
