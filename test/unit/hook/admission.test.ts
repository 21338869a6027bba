import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePolicy } from '../../../lib/policy/index.js';
import type { ImageRuleOptions } from '../../../lib/policy/index.js';
import type { ImageReference } from '../../../lib/reference.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { reviewAdmission, parseAdmissionReview, admissionDeadlineMs, type VerifyResultLike, type AdmissionOutcome } from '../../../hook/admission.js';
import { applyJsonPatch } from './json-patch.js';
import { podReview } from '../../helpers/admission-review.js';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/k8s/admission/${name}`, import.meta.url), 'utf8'));

const POLICY = parsePolicy(`
version: 1
defaults:
  denyTags: [latest]
rules:
  - name: team
    images: [registry.example.com/team/*]
    requiredRoles: {anyOf: [release]}
  - name: infra
    images: ["registry.example.com/infra/**"]
    mode: warn
  - name: hub
    images: [docker.io/library/busybox]
  - name: system
    images: ["**"]
    namespaces: {names: [kube-system]}
    mode: skip
unmatched: deny
`);

const D = (c: string): string => 'sha256:' + c.repeat(64);

/**
 * A fake verifier over a table of "signed" references (normalized repository:tag → digest).
 * It records every call, so tests can check what was (not) verified.
 */
function fakeVerifier(signed: Record<string, string>, opts: { delayMs?: number; slow?: Set<string>; release?: Promise<void> } = {}) {
  const calls: { ref: ImageReference; options: ImageRuleOptions }[] = [];
  const verifyImage = async (ref: ImageReference, options: ImageRuleOptions): Promise<VerifyResultLike> => {
    calls.push({ ref, options });
    const key = `${ref.repository}:${ref.tag}`;
    if (opts.slow?.has(key)) await (opts.release ?? new Promise((r) => setTimeout(r, opts.delayMs ?? 500)));
    const digest = signed[key];
    if (digest && (ref.digest === undefined || ref.digest === digest)) return { verified: true, digest, failures: [] };
    return {
      verified: false,
      ...(digest ? { digest } : {}),
      failures: [{ code: 'NO_SIGNATURES', message: `no valid signature for ${ref.repository}` }],
    };
  };
  return { verifyImage, calls };
}

const SIGNED = {
  'registry.example.com/team/app:1.2.3': D('a'),
  'registry.example.com/team/migrate:1.4': D('b'),
  'registry.example.com/team/report:2024.1': D('c'),
  'docker.io/library/busybox:1.36': D('d'),
};

function decodePatch(o: AdmissionOutcome): unknown[] {
  const r = o.review.response;
  assert.equal(r.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(r.patch as string, 'base64').toString('utf8')) as unknown[];
}

describe('reviewAdmission', () => {
  describe('when every image is signed', () => {
    it('allows a Pod and echoes the uid (validate: no patch)', async () => {
      const review = fixture('pod-create.json');
      const { verifyImage, calls } = fakeVerifier({ ...SIGNED, 'registry.example.com/infra/envoy:v1.30': D('e') });
      const out = await reviewAdmission(review, 'validate', { policy: POLICY, verifyImage });
      assert.equal(out.review.apiVersion, 'admission.k8s.io/v1');
      assert.equal(out.review.kind, 'AdmissionReview');
      assert.equal(out.review.response.uid, review['request'].uid);
      assert.equal(out.review.response.allowed, true);
      assert.equal(out.review.response.patch, undefined);
      assert.equal(out.review.response.status, undefined);
      assert.deepEqual(out.review.response.auditAnnotations, { 'policy-revision': POLICY.revision });
      assert.deepEqual(
        calls.map((c) => `${c.ref.repository}:${c.ref.tag}`).sort(),
        ['registry.example.com/infra/envoy:v1.30', 'registry.example.com/team/app:1.2.3', 'registry.example.com/team/migrate:1.4'],
      );
      // the rule's options reach the verifier
      const app = calls.find((c) => c.ref.repository === 'registry.example.com/team/app');
      assert.deepEqual(app?.options.verify.requiredRoles, { anyOf: ['release'] });
      assert.equal(app?.options.collection, 'registry.example.com/team/app');
      assert.equal(app?.options.rule, 'team');
    });

    it('mutate pins every verified image with a patch that applies cleanly (Deployment)', async () => {
      const review = fixture('deployment-create.json');
      const { verifyImage, calls } = fakeVerifier(SIGNED);
      const out = await reviewAdmission(review, 'mutate', { policy: POLICY, verifyImage });
      assert.equal(out.review.response.allowed, true);
      // the image shared by two containers is verified once
      assert.equal(calls.length, 2);
      const ops = decodePatch(out);
      const patched = applyJsonPatch(review['request'].object, ops);
      const spec = patched.spec.template.spec;
      assert.equal(spec.initContainers[0].image, `registry.example.com/team/migrate:1.4@${D('b')}`);
      assert.equal(spec.containers[0].image, `registry.example.com/team/app:1.2.3@${D('a')}`);
      assert.equal(spec.containers[1].image, `registry.example.com/team/app:1.2.3@${D('a')}`);
      // nothing but the images changed
      spec.initContainers[0].image = 'registry.example.com/team/migrate:1.4';
      spec.containers[0].image = spec.containers[1].image = 'registry.example.com/team/app:1.2.3';
      assert.deepEqual(patched, review['request'].object);
      // test ops guard each replace
      assert.deepEqual(ops[0], { op: 'test', path: '/spec/template/spec/initContainers/0/image', value: 'registry.example.com/team/migrate:1.4' });
      assert.equal(out.verdicts.filter((v) => v.pinned).length, 3);
    });

    it('mutate pins a CronJob through spec.jobTemplate.spec.template and its Docker Hub initContainer', async () => {
      const review = fixture('cronjob-create.json');
      const { verifyImage } = fakeVerifier(SIGNED);
      const out = await reviewAdmission(review, 'mutate', { policy: POLICY, verifyImage });
      assert.equal(out.review.response.allowed, true);
      const patched = applyJsonPatch(review['request'].object, decodePatch(out));
      const spec = patched.spec.jobTemplate.spec.template.spec;
      assert.equal(spec.initContainers[0].image, `busybox:1.36@${D('d')}`);
      assert.equal(spec.containers[0].image, `registry.example.com/team/report:2024.1@${D('c')}`);
    });

    it('the patch still applies after a JSON round trip of the object (as the API server re-serializes it)', async () => {
      const review = fixture('pod-create.json');
      const { verifyImage } = fakeVerifier({ ...SIGNED, 'registry.example.com/infra/envoy:v1.30': D('e') });
      const out = await reviewAdmission(review, 'mutate', { policy: POLICY, verifyImage });
      const object = JSON.parse(JSON.stringify(review['request'].object));
      const patched = applyJsonPatch(object, decodePatch(out));
      assert.deepEqual(
        [...patched.spec.initContainers, ...patched.spec.containers].map((c: { image: string }) => c.image),
        [`registry.example.com/team/migrate:1.4@${D('b')}`, `registry.example.com/team/app:1.2.3@${D('a')}`, `registry.example.com/infra/envoy:v1.30@${D('e')}`],
      );
    });
  });

  describe('when an image is not signed', () => {
    it('denies the Deployment with a reason naming the image, where it is and the failed check', async () => {
      const review = fixture('deployment-create.json');
      const { verifyImage } = fakeVerifier({ 'registry.example.com/team/app:1.2.3': D('a') });
      for (const action of ['validate', 'mutate'] as const) {
        const out = await reviewAdmission(review, action, { policy: POLICY, verifyImage });
        const r = out.review.response;
        assert.equal(r.allowed, false);
        assert.equal(r.uid, review['request'].uid);
        assert.equal(r.status?.code, 403);
        assert.equal(r.patch, undefined, 'no patch on a denial');
        const msg = r.status?.message ?? '';
        assert.match(msg, /^ocitrust denied Deployment prod\/api: /);
        assert.match(msg, /image "registry\.example\.com\/team\/migrate:1\.4" at spec\.template\.spec\.initContainers\[0\] \(container "migrate"\): NO_SIGNATURES: no valid signature/);
        assert.doesNotMatch(msg, /team\/app/, 'verified images are not named');
      }
    });

    it('warn mode allows with a warning instead of denying', async () => {
      const review = fixture('pod-create.json');
      const { verifyImage } = fakeVerifier(SIGNED); // envoy (infra, warn) unsigned
      const out = await reviewAdmission(review, 'mutate', { policy: POLICY, verifyImage });
      const r = out.review.response;
      assert.equal(r.allowed, true);
      assert.equal(r.warnings?.length, 1);
      assert.match(r.warnings?.[0] ?? '', /warn mode.*registry\.example\.com\/infra\/envoy:v1\.30.*spec\.containers\[1\].*NO_SIGNATURES/);
      assert.ok((r.warnings?.[0] ?? '').length <= 256);
      // verified images are still pinned, the unverified one is not
      const patched = applyJsonPatch(review['request'].object, decodePatch(out));
      assert.equal(patched.spec.containers[1].image, 'registry.example.com/infra/envoy:v1.30');
      assert.equal(patched.spec.containers[0].image, `registry.example.com/team/app:1.2.3@${D('a')}`);
    });

    it('a verifier that throws counts as a failure (fail closed), with its code', async () => {
      const review = fixture('cronjob-create.json');
      const out = await reviewAdmission(review, 'validate', {
        policy: POLICY,
        verifyImage: async () => {
          throw new Error('socket hang up');
        },
      });
      assert.equal(out.review.response.allowed, false);
      assert.match(out.review.response.status?.message ?? '', /INTERNAL: socket hang up/);
    });

    it('a "verified" answer without a digest, or with another digest than pinned, is not trusted', async () => {
      const review = fixture('cronjob-create.json');
      const out = await reviewAdmission(review, 'validate', { policy: POLICY, verifyImage: async () => ({ verified: true, failures: [] }) });
      assert.equal(out.review.response.allowed, false);
      assert.match(out.review.response.status?.message ?? '', /HOOK_NOT_VERIFIED/);

      const pinned = fixture('pod-ephemeral-update.json');
      const out2 = await reviewAdmission(pinned, 'validate', { policy: POLICY, verifyImage: async () => ({ verified: true, digest: D('9'), failures: [] }) });
      assert.equal(out2.review.response.allowed, false);
      assert.match(out2.review.response.status?.message ?? '', /REFERENCE_DIGEST_MISMATCH/);
    });
  });

  describe('decisions taken before any I/O', () => {
    const pod = (ns: string, images: string[]) => podReview({ namespace: ns, images });
    const never = async (): Promise<VerifyResultLike> => assert.fail('verifyImage must not be called');

    it('denyTags and an image without a tag (latest) are refused without verifying', async () => {
      const out = await reviewAdmission(pod('prod', ['registry.example.com/team/app', 'busybox:latest']), 'validate', { policy: POLICY, verifyImage: never });
      assert.equal(out.review.response.allowed, false);
      const msg = out.review.response.status?.message ?? '';
      assert.match(msg, /image "registry\.example\.com\/team\/app" at spec\.containers\[0\].*POLICY_FILE_TAG_DENIED: tag "latest" is refused by rule "team".*without tag or digest means latest/);
      assert.match(msg, /image "busybox:latest" at spec\.containers\[1\].*POLICY_FILE_TAG_DENIED/);
    });

    it('unmatched images are denied, invalid references (ko://) are denied and named', async () => {
      const out = await reviewAdmission(pod('prod', ['ghcr.io/other/tool:1', 'ko://github.com/acme/cmd/app']), 'validate', { policy: POLICY, verifyImage: never });
      const msg = out.review.response.status?.message ?? '';
      assert.match(msg, /ghcr\.io\/other\/tool:1.*POLICY_FILE_NO_MATCH: no policy rule matches ghcr\.io\/other\/tool/);
      assert.match(msg, /ko:\/\/github\.com\/acme\/cmd\/app.*REFERENCE_INVALID/);
    });

    it('skip rules apply by namespace and never call the verifier', async () => {
      const out = await reviewAdmission(pod('kube-system', ['ghcr.io/other/tool:1', 'registry.k8s.io/coredns/coredns:v1.11.1']), 'mutate', { policy: POLICY, verifyImage: never });
      assert.equal(out.review.response.allowed, true);
      assert.equal(out.review.response.patch, undefined);
      assert.deepEqual(out.verdicts.map((v) => v.decision), ['skipped', 'skipped']);
      assert.equal(out.verified, 0);
    });

    it('a more specific rule still applies inside a skipped namespace (most specific pattern wins)', async () => {
      const { verifyImage, calls } = fakeVerifier(SIGNED);
      const out = await reviewAdmission(pod('kube-system', ['registry.example.com/team/app:1.2.3']), 'validate', { policy: POLICY, verifyImage });
      assert.equal(out.review.response.allowed, true);
      assert.equal(calls.length, 1);
    });

    it('unmatched: allow lets other images through without verification', async () => {
      const open = parsePolicy('version: 1\nrules: []\nunmatched: allow\n');
      const out = await reviewAdmission(pod('prod', ['ghcr.io/other/tool:1']), 'mutate', { policy: open, verifyImage: never });
      assert.equal(out.review.response.allowed, true);
      assert.equal(out.verdicts[0]?.decision, 'allowed');
    });
  });

  describe('namespace labels', () => {
    const policy = parsePolicy(`
version: 1
rules:
  - name: prod-enforce
    images: ["registry.example.com/**"]
    namespaces: {labels: {env: prod}}
  - name: others-warn
    images: ["registry.example.com/**"]
    mode: warn
`);
    const review = fixture('pod-create.json');

    it('selects the rule by the labels the resolver returns', async () => {
      const { verifyImage } = fakeVerifier({});
      const prod = await reviewAdmission(review, 'validate', { policy, verifyImage, namespaceLabels: async () => ({ env: 'prod' }) });
      assert.equal(prod.review.response.allowed, false);
      const dev = await reviewAdmission(review, 'validate', { policy, verifyImage, namespaceLabels: () => ({ env: 'dev' }) });
      assert.equal(dev.review.response.allowed, true);
      assert.equal(dev.review.response.warnings?.length, 3);
    });

    it('denies (fail closed) when labels are needed but cannot be read', async () => {
      const { verifyImage, calls } = fakeVerifier({});
      const out = await reviewAdmission(review, 'validate', {
        policy,
        verifyImage,
        namespaceLabels: async () => {
          throw new Error('forbidden: cannot get namespaces');
        },
      });
      assert.equal(out.review.response.allowed, false);
      assert.match(out.review.response.status?.message ?? '', /HOOK_NAMESPACE_LABELS_UNAVAILABLE: .*forbidden/);
      assert.equal(calls.length, 0);
      const none = await reviewAdmission(review, 'validate', { policy, verifyImage });
      assert.equal(none.review.response.allowed, false);
      assert.match(none.review.response.status?.message ?? '', /no source of namespace labels/);
    });
  });

  describe('deadline', () => {
    it('denies deliberately inside the deadline when verification is slow, and lets it finish', async () => {
      const review = fixture('deployment-create.json');
      const slow = new Set(['registry.example.com/team/migrate:1.4']);
      let finished = 0;
      // The slow verification finishes only when the test says so: the answer must come from
      // the deadline, whatever the machine's load (no timed assertion).
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const base = fakeVerifier(SIGNED, { slow, release: released });
      const verifyImage = async (ref: ImageReference, o: ImageRuleOptions) => {
        const r = await base.verifyImage(ref, o);
        finished++;
        return r;
      };
      const out = await reviewAdmission(review, 'mutate', { policy: POLICY, verifyImage, deadlineMs: 100 });
      assert.equal(finished, 1, 'answered while the slow verification was still running');
      assert.equal(out.deadlineExceeded, true);
      const r = out.review.response;
      assert.equal(r.allowed, false);
      assert.equal(r.patch, undefined);
      assert.match(r.status?.message ?? '', /team\/migrate:1\.4.*HOOK_DEADLINE_EXCEEDED: verification did not finish within the 100 ms admission deadline.*fail closed.*retry/);
      assert.doesNotMatch(r.status?.message ?? '', /team\/app/);
      // not cancelled: the slow verification completes in the background
      release();
      await released;
      await new Promise((res) => setImmediate(res));
      assert.equal(finished, 2);
    });

    it('defaults to 80 % of the webhook timeout', () => {
      assert.equal(admissionDeadlineMs({}), 8000);
      assert.equal(admissionDeadlineMs({ timeoutSeconds: 5 }), 4000);
      assert.equal(admissionDeadlineMs({ timeoutSeconds: 5, deadlineMs: 1234 }), 1234);
    });
  });

  describe('operations and subresources', () => {
    it('checks ephemeral containers added by kubectl debug and patches only them', async () => {
      const review = fixture('pod-ephemeral-update.json');
      const { verifyImage, calls } = fakeVerifier({ ...SIGNED, 'registry.example.com/team/app:1.2.3': D('1') });
      const out = await reviewAdmission(review, 'mutate', { policy: POLICY, verifyImage });
      assert.equal(out.review.response.allowed, true);
      assert.equal(calls.length, 2);
      const ops = decodePatch(out) as { path: string }[];
      assert.ok(ops.every((o) => o.path.startsWith('/spec/ephemeralContainers/')));
      const patched = applyJsonPatch(review['request'].object, ops);
      assert.equal(patched.spec.ephemeralContainers[0].image, `busybox:1.36@${D('d')}`);

      const denied = await reviewAdmission(review, 'validate', { policy: POLICY, verifyImage: fakeVerifier({ 'registry.example.com/team/app:1.2.3': D('1') }).verifyImage });
      assert.equal(denied.review.response.allowed, false);
      assert.match(denied.review.response.status?.message ?? '', /busybox:1\.36" at spec\.ephemeralContainers\[0\] \(container "debugger-7xkq2"\)/);
    });

    it('allows DELETE, CONNECT and other subresources untouched', async () => {
      const never = async (): Promise<VerifyResultLike> => assert.fail('not called');
      for (const patch of [{ operation: 'DELETE' }, { operation: 'CONNECT' }, { operation: 'UPDATE', subResource: 'status' }]) {
        const review = fixture('pod-create.json');
        Object.assign(review['request'], patch);
        const out = await reviewAdmission(review, 'validate', { policy: POLICY, verifyImage: never });
        assert.equal(out.review.response.allowed, true, JSON.stringify(patch));
      }
    });

    it('kinds without pod templates are denied (HOOK_KIND_UNSUPPORTED) unless the policy lists them in skipKinds', async () => {
      const review = fixture('pod-create.json');
      review['request'].kind = { group: '', version: 'v1', kind: 'ConfigMap' };
      review['request'].object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { image: 'nginx' } };
      const never = async (): Promise<VerifyResultLike> => assert.fail('not called');
      const out = await reviewAdmission(review, 'validate', { policy: POLICY, verifyImage: never });
      assert.equal(out.review.response.allowed, false);
      assert.equal(out.review.response.uid, review['request'].uid);
      assert.equal(out.invalid?.code, 'HOOK_KIND_UNSUPPORTED');
      assert.match(out.review.response.status?.message ?? '', /HOOK_KIND_UNSUPPORTED: .*core\/ConfigMap/);
      const skipping = parsePolicy('version: 1\nrules: []\nskipKinds: [ConfigMap, example.com/Widget]\n');
      assert.equal((await reviewAdmission(review, 'validate', { policy: skipping, verifyImage: never })).review.response.allowed, true);
    });

  });

  describe('malformed reviews', () => {
    const cases: [string, unknown][] = [
      ['not an object', 'x'],
      ['v1beta1', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'u' } }],
      ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
      ['no uid', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { kind: 'Pod' }, operation: 'CREATE' } }],
      ['no kind', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE' } }],
      ['object missing on CREATE', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE' } }],
    ];
    for (const [label, body] of cases) {
      it(`denies ${label} with HOOK_REVIEW_INVALID`, async () => {
        for (const action of ['validate', 'mutate'] as const) {
          const out = await reviewAdmission(body, action, { policy: POLICY, verifyImage: async () => assert.fail() });
          assert.equal(out.review.response.allowed, false);
          assert.equal(out.review.response.status?.code, 400);
          assert.equal(out.invalid?.code, 'HOOK_REVIEW_INVALID');
          assert.match(out.review.response.status?.message ?? '', /HOOK_REVIEW_INVALID: AdmissionReview: .*expected/);
        }
      });
    }
    it('parseAdmissionReview throws HOOK_REVIEW_INVALID', () => {
      for (const [, body] of cases) assert.throws(() => parseAdmissionReview(body), (e) => isOcitrustError(e, 'HOOK_REVIEW_INVALID'));
    });
  });
});
