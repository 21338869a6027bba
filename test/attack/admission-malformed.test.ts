/**
 * Attack (issue 12, item 12): AdmissionReviews the webhook cannot interpret must be denied
 * (HOOK_REVIEW_INVALID), never allowed. Each review below carries an unsigned image under an
 * `enforce` rule; before the fix a mismatched kind, a lower-case operation or a container list
 * that is not a list made the webhook find no image and allow the request.
 *
 * Against the real trust server (startServer, embedded registry, admission webhooks) over HTTPS
 * with certificates made by deploy/gen-certs.sh, checked as the API server checks them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, type Policy } from '../../lib/policy/index.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { podReview } from '../helpers/admission-review.js';
import { TEST_SCRYPT, TEST_SECRET } from '../helpers/trust-server.js';

const root = new URL('../../', import.meta.url).pathname;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (process.env.CI === 'true' && !hasOpenssl) throw new Error('openssl is required in CI');
const skip = hasOpenssl ? false : 'openssl not installed';

const SERVICE = 'ocitrust-webhook';
const NAMESPACE = 'ocitrust-system';
const DNS = `${SERVICE}.${NAMESPACE}.svc`;
const UNSIGNED = 'registry.example.com/team/app:1.0';

function post(port: number, path: string, body: unknown, ca: Buffer): Promise<{ status: number; json: any; text: string }> {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', ca, servername: DNS, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the attacks rewrite any field
type Review = any;

/** A well-formed CREATE of a Pod running the unsigned image, then `edit` applied to it. */
function review(edit: (r: Review) => void, uid = 'attack-uid'): unknown {
  const r: Review = structuredClone(podReview({ namespace: 'prod', images: [UNSIGNED], uid, name: 'p' }));
  edit(r);
  return r;
}

const deployment = (containers: unknown) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', namespace: 'prod' },
  spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers } } },
});

describe('attack: malformed AdmissionReviews against the real webhook over HTTPS', { skip }, () => {
  let dir: string;
  let server: RunningServer;
  let port: number;
  let ca: Buffer;
  let policy: Policy;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-attack-admission-'));
    const gen = spawnSync('bash', [join(root, 'deploy/gen-certs.sh'), join(dir, 'certs'), SERVICE, NAMESPACE, '2'], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    ca = readFileSync(join(dir, 'certs', 'ca.crt'));
    writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nrules:\n  - {name: team, images: ["registry.example.com/**"]}\nunmatched: deny\nskipKinds: [ConfigMap]\n');
    policy = await loadPolicyFile(join(dir, 'policy.yaml'));
    server = await startServer({
      secret: TEST_SECRET,
      scrypt: TEST_SCRYPT,
      dataDir: join(dir, 'data'),
      host: '127.0.0.1',
      port: 0,
      tlsCert: join(dir, 'certs', 'tls.crt'),
      tlsKey: join(dir, 'certs', 'tls.key'),
      registry: true,
      resignIntervalMs: 0,
      auditPruneIntervalMs: 0,
      handleSignals: false,
      logger: false,
      admission: { policy: () => policy, timeoutSeconds: 10 },
    });
    port = Number(new URL(server.url).port);
  });

  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Asserts a 200 AdmissionReview that denies with `code`, carrying `uid`. */
  async function denied(body: unknown, code: string, uid: string | undefined = 'attack-uid'): Promise<void> {
    for (const action of ['validate', 'mutate'] as const) {
      const r = await post(port, `/admission/${action}`, body, ca);
      assert.equal(r.status, 200, `${action}: ${r.text}`);
      assert.equal(r.json?.apiVersion, 'admission.k8s.io/v1', r.text);
      assert.equal(r.json?.kind, 'AdmissionReview', r.text);
      assert.equal(r.json?.response?.allowed, false, `${action} must deny: ${r.text}`);
      assert.equal(r.json.response.patch, undefined, r.text);
      assert.match(r.json.response.status?.message ?? '', new RegExp(code), r.text);
      if (uid !== undefined) assert.equal(r.json.response.uid, uid, r.text);
    }
  }

  it('the unsigned image in a well-formed review is denied (the baseline every attack below must not escape)', async () => {
    await denied(review(() => undefined), 'team');
  });

  it('request.kind that does not match the object (ConfigMap carrying a Pod) is denied', async () => {
    await denied(review((r) => (r.request.kind = { group: '', version: 'v1', kind: 'ConfigMap' })), 'HOOK_REVIEW_INVALID');
  });

  it('request.kind of an unknown kind carrying a Pod without apiVersion/kind is not allowed', async () => {
    await denied(
      review((r) => {
        r.request.kind = { group: 'example.com', version: 'v1', kind: 'Widget' };
        delete r.request.object.kind;
        delete r.request.object.apiVersion;
      }),
      'HOOK_KIND_UNSUPPORTED',
    );
  });

  it('an object of a different kind than request.kind (Deployment claimed, Pod sent) is denied', async () => {
    await denied(review((r) => (r.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' })), 'HOOK_REVIEW_INVALID');
  });

  it('an apiVersion that contradicts request.kind is denied', async () => {
    await denied(review((r) => (r.request.object.apiVersion = 'apps/v1')), 'HOOK_REVIEW_INVALID');
  });

  it('a lower-case or unknown operation is denied', async () => {
    await denied(review((r) => (r.request.operation = 'create')), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.operation = 'PATCH')), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.operation = 1)), 'HOOK_REVIEW_INVALID');
  });

  it('a missing or empty uid is denied (no uid to echo)', async () => {
    await denied(review((r) => delete (r.request as { uid?: string }).uid), 'HOOK_REVIEW_INVALID', '');
    await denied(review((r) => (r.request.uid = '')), 'HOOK_REVIEW_INVALID', '');
  });

  it('a missing object on CREATE and UPDATE is denied', async () => {
    await denied(review((r) => delete r.request.object), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => ((r.request.operation = 'UPDATE'), (r.request.object = null))), 'HOOK_REVIEW_INVALID');
  });

  it('a request.kind that is not a full GroupVersionKind is denied', async () => {
    await denied(review((r) => (r.request.kind = { kind: 'Pod' })), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.kind = 'Pod')), 'HOOK_REVIEW_INVALID');
  });

  it('containers that are not a list, or a container that is not an object, is denied', async () => {
    await denied(review((r) => (r.request.object.spec.containers = { c0: { name: 'c0', image: UNSIGNED } })), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.object.spec.containers = UNSIGNED)), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.object.spec.initContainers = [UNSIGNED])), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.object.spec = [])), 'HOOK_REVIEW_INVALID');
    await denied(
      review((r) => {
        r.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
        r.request.object = deployment({ c0: { image: UNSIGNED } });
      }),
      'HOOK_REVIEW_INVALID',
    );
  });

  it('an image that is not a string, or a container without an image, is denied', async () => {
    await denied(review((r) => (r.request.object.spec.containers[0].image = [UNSIGNED])), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => (r.request.object.spec.containers[0].image = { name: UNSIGNED })), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => delete r.request.object.spec.containers[0].image), 'HOOK_REVIEW_INVALID');
  });

  it('a review envelope of another version or kind, or not an object, is denied', async () => {
    await denied(review((r) => ((r as { apiVersion: string }).apiVersion = 'admission.k8s.io/v1beta1')), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => ((r as { kind: string }).kind = 'TokenReview')), 'HOOK_REVIEW_INVALID');
    await denied(review((r) => delete (r as { request?: unknown }).request), 'HOOK_REVIEW_INVALID', '');
    await denied([1, 2], 'HOOK_REVIEW_INVALID', '');
  });

  it('an unknown workload kind without a pod template is denied unless the policy skips its kind', async () => {
    const widget = review((r) => {
      r.request.kind = { group: 'example.com', version: 'v1', kind: 'Widget' };
      r.request.object = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { podSpec: { containers: [{ name: 'c', image: UNSIGNED }] } } };
    });
    await denied(widget, 'HOOK_KIND_UNSUPPORTED');
    const cm = review((r) => {
      r.request.kind = { group: '', version: 'v1', kind: 'ConfigMap' };
      r.request.object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { image: UNSIGNED } };
    });
    const ok = await post(port, '/admission/validate', cm, ca);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.response.allowed, true, ok.text);
  });

  it('a CRD kind named like a known workload in another group is not treated as the known kind', async () => {
    await denied(
      review((r) => {
        r.request.kind = { group: 'example.com', version: 'v1', kind: 'Deployment' };
        r.request.object = { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { pod: { containers: [{ name: 'c', image: UNSIGNED }] } } };
      }),
      'HOOK_KIND_UNSUPPORTED',
    );
  });

  it('well-formed reviews with nothing to verify stay allowed', async () => {
    const noImages = review((r) => (r.request.object.spec.containers = []));
    const del = review((r) => ((r.request.operation = 'DELETE'), (r.request.oldObject = r.request.object), (r.request.object = null)));
    for (const body of [noImages, del]) {
      const r = await post(port, '/admission/validate', body, ca);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.response.allowed, true, r.text);
      assert.equal(r.json.response.uid, 'attack-uid');
    }
  });
});
