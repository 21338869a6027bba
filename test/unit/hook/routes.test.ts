import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { admissionRoutes } from '../../../hook/routes.js';
import type { AdmissionOutcome, VerifyResultLike } from '../../../hook/admission.js';
import { parsePolicy } from '../../../lib/policy/index.js';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { applyJsonPatch } from './json-patch.js';

const review = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/k8s/admission/${name}`, import.meta.url), 'utf8'));
const policy = parsePolicy('version: 1\nrules:\n  - {name: team, images: ["registry.example.com/team/*"]}\n  - {name: hub, images: [busybox]}\n');
const D = 'sha256:' + '7'.repeat(64);
const signed = new Set(['registry.example.com/team/app', 'registry.example.com/team/migrate', 'registry.example.com/team/report']);

describe('admissionRoutes (fastify inject)', () => {
  let app: FastifyInstance;
  const outcomes: [AdmissionOutcome, string][] = [];
  before(async () => {
    app = Fastify();
    await app.register(admissionRoutes, {
      policy: () => policy,
      verifyImage: async (ref): Promise<VerifyResultLike> =>
        signed.has(ref.repository) ? { verified: true, digest: D, failures: [] } : { verified: false, failures: [{ code: 'NO_SIGNATURES', message: 'unsigned' }] },
      timeoutSeconds: 10,
      onOutcome: (o, a) => outcomes.push([o, a]),
    });
    await app.ready();
  });
  after(() => app.close());

  it('POST /admission/validate answers an AdmissionReview with the verdict', async () => {
    const res = await app.inject({ method: 'POST', url: '/admission/validate', payload: review('cronjob-create.json') });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(body.kind, 'AdmissionReview');
    assert.equal(body.response.uid, '3c0b8e7a-9d54-4e0c-8f0e-5a2b6c7d8e90');
    assert.equal(body.response.allowed, false);
    assert.equal(body.response.status.code, 403);
    assert.match(body.response.status.message, /busybox:1\.36.*initContainers\[0\].*NO_SIGNATURES: unsigned/);
    assert.equal(outcomes.at(-1)?.[1], 'validate');
  });

  it('POST /admission/mutate returns a base64 JSONPatch that applies to the object', async () => {
    const r = review('deployment-create.json');
    const res = await app.inject({ method: 'POST', url: '/admission/mutate', payload: r });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.response.allowed, true);
    assert.equal(body.response.patchType, 'JSONPatch');
    const patched = applyJsonPatch(r.request.object, JSON.parse(Buffer.from(body.response.patch, 'base64').toString()));
    assert.equal(patched.spec.template.spec.containers[1].image, `registry.example.com/team/app:1.2.3@${D}`);
    assert.equal(body.response.auditAnnotations['policy-revision'], policy.revision);
  });

  it('denies a malformed review or a non-review in a 200 AdmissionReview (never an HTTP error the API server could ignore)', async () => {
    const bad = review('pod-create.json');
    bad.apiVersion = 'admission.k8s.io/v1beta1';
    const res = await app.inject({ method: 'POST', url: '/admission/validate', payload: bad });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().response.allowed, false);
    assert.equal(res.json().response.uid, bad.request.uid);
    assert.match(res.json().response.status.message, /HOOK_REVIEW_INVALID/);
    const res2 = await app.inject({ method: 'POST', url: '/admission/validate', payload: { hello: 'world' } });
    assert.equal(res2.statusCode, 200);
    assert.equal(res2.json().response.allowed, false);
    assert.equal(res2.json().response.uid, '');
  });

  it('refuses options that cannot work at registration', async () => {
    const labelPolicy = parsePolicy('version: 1\nrules:\n  - {name: a, images: ["**"], namespaces: {labels: {env: prod}}}\n');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ policy, verifyImage: undefined }, /verifyImage/],
      [{ policy, verifyImage: async () => ({}), timeoutSeconds: 31 }, /timeoutSeconds/],
      [{ policy, verifyImage: async () => ({}), timeoutSeconds: 5, deadlineMs: 5000 }, /less than the webhook timeout/],
      [{ policy: labelPolicy, verifyImage: async () => ({}) }, /namespaceLabels/],
    ];
    for (const [opts, re] of cases) {
      const a = Fastify();
      await assert.rejects(
        (async () => {
          await a.register(admissionRoutes, opts as never);
          await a.ready();
        })(),
        (e) => isOcitrustError(e, 'INVALID_ARGUMENT') && re.test(e.message),
      );
      await a.close();
    }
  });
});
