// The admission webhooks end to end: a real trust server (SQLite, embedded registry) on
// 127.0.0.1:0 with the webhooks mounted, real images pushed and signed through a counting,
// delaying proxy, collections made with the lib/usecases admin functions, and AdmissionReview
// requests in the Kubernetes wire format (test/fixtures/k8s/admission) POSTed over HTTP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../server/app.js';
import { serverOptionsFromEnv } from '../../server/run.js';
import { startAdmissionWorld, postReview, type AdmissionWorld } from '../helpers/admission-world.js';
import { TEST_SCRYPT, TEST_SECRET } from '../helpers/trust-server.js';
import { applyJsonPatch } from '../unit/hook/json-patch.js';

const FIXTURES = new URL('../fixtures/k8s/admission/', import.meta.url);
const FAKE_DIGEST = 'sha256:' + '1'.repeat(64);
const DEADLINE_MS = 1500;

/** Every image string in an object, with its JSON pointer. */
function imagesOf(v: unknown, path = ''): { path: string; image: string }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => imagesOf(x, `${path}/${i}`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => (k === 'image' && typeof x === 'string' ? [{ path: `${path}/${k}`, image: x }] : imagesOf(x, `${path}/${k}`)));
}

describe('admission webhooks end to end (trust server, embedded registry, signed images)', () => {
  let w: AdmissionWorld;
  const digests = new Map<string, string>();
  /** A fixture with its images moved to our registry (structure untouched). */
  let review: (name: string, edit?: (text: string) => string) => any;

  before(async () => {
    w = await startAdmissionWorld({ admission: { timeoutSeconds: 10, deadlineMs: DEADLINE_MS } });
    const h = w.host;
    // Collection "team" pinned by root file and read over HTTP; "infra" from the server's own
    // storage, its root trusted on first use.
    const teamRoot = await w.createCollection(`${h}/team`, [`${h}/*/*`]);
    await w.createCollection(`${h}/infra`, [`${h}/infra/*`]);
    for (const [path, tag, sign] of [
      ['team/app', '1.2.3', true],
      ['team/migrate', '1.4', true],
      ['team/report', '2024.1', true],
      ['library/busybox', '1.36', true],
      ['infra/envoy', 'v1.30', true],
      ['team/slow', '1', true],
      ['team/unsigned', '1', false],
      ['sandbox/tool', '1', false],
    ] as const) {
      const { reference, digest } = await w.pushImage(path, tag);
      digests.set(reference, digest);
      if (sign) await w.sign(reference);
    }
    await w.usePolicy(
      [
        'version: 1',
        'rules:',
        '  - name: team',
        `    images: ["${h}/team/*", "${h}/library/*"]`,
        `    collection: ${h}/team`,
        `    server: ${w.url}`,
        `    root: ${teamRoot}`,
        '    denyTags: [latest]',
        '  - name: infra',
        `    images: ["${h}/infra/*"]`,
        `    collection: ${h}/infra`,
        '  - name: sandbox',
        `    images: ["${h}/sandbox/*"]`,
        `    collection: ${h}/team`,
        `    server: ${w.url}`,
        `    root: ${teamRoot}`,
        '    mode: warn',
        'unmatched: deny',
        '',
      ].join('\n'),
    );
    review = (name, edit = (t) => t) => {
      let text = readFileSync(new URL(name, FIXTURES), 'utf8')
        .replaceAll('registry.example.com/', `${h}/`)
        .replaceAll('"busybox:', `"${h}/library/busybox:`)
        .replaceAll(FAKE_DIGEST, digests.get(`${h}/team/app:1.2.3`)!);
      text = edit(text);
      return JSON.parse(text);
    };
  });
  after(async () => {
    await w?.close();
  });

  for (const name of ['pod-create.json', 'deployment-create.json', 'cronjob-create.json', 'pod-ephemeral-update.json']) {
    it(`validate: ${name} with only signed images is allowed`, async () => {
      const r = review(name);
      const res = await postReview(w.url, 'validate', r);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.apiVersion, 'admission.k8s.io/v1');
      assert.equal(res.body.kind, 'AdmissionReview');
      assert.equal(res.body.response.uid, r.request.uid);
      assert.equal(res.body.response.allowed, true, JSON.stringify(res.body.response.status));
      assert.equal(res.body.response.patch, undefined);
      assert.equal(res.body.response.auditAnnotations['policy-revision'], w.policy().revision);
    });

    it(`mutate: ${name} gets a JSONPatch pinning every image to its verified digest`, async () => {
      const r = review(name);
      const before = imagesOf(r.request.object);
      const res = await postReview(w.url, 'mutate', r);
      assert.equal(res.status, 200);
      assert.equal(res.body.response.allowed, true, JSON.stringify(res.body.response.status));
      assert.equal(res.body.response.patchType, 'JSONPatch');
      const ops = JSON.parse(Buffer.from(res.body.response.patch, 'base64').toString('utf8'));
      const patched = applyJsonPatch(r.request.object, ops);
      const after = imagesOf(patched);
      assert.equal(after.length, before.length);
      for (const [i, b] of before.entries()) {
        const a = after[i]!;
        assert.equal(a.path, b.path);
        if (b.image.includes('@')) {
          assert.equal(a.image, b.image, 'an image already pinned is left alone');
        } else {
          assert.equal(a.image, `${b.image}@${digests.get(b.image)}`, `${b.path} pinned to the digest that was pushed and signed`);
        }
      }
    });
  }

  it('validate: an unsigned image is denied with a reason naming the image, where it is and the failed check', async () => {
    const r = review('deployment-create.json', (t) => t.replaceAll(`${w.host}/team/app:1.2.3`, `${w.host}/team/unsigned:1`));
    const res = await postReview(w.url, 'validate', r);
    assert.equal(res.status, 200);
    assert.equal(res.body.response.uid, r.request.uid);
    assert.equal(res.body.response.allowed, false);
    assert.equal(res.body.response.status.code, 403);
    const msg: string = res.body.response.status.message;
    assert.match(msg, new RegExp(`image "${w.host}/team/unsigned:1" at spec\\.template\\.spec\\.containers\\[0\\]`));
    assert.match(msg, /NO_SIGNATURES/);
    assert.doesNotMatch(msg, /migrate/, 'verified images are not blamed');
    const m = await postReview(w.url, 'mutate', r);
    assert.equal(m.body.response.allowed, false);
    assert.equal(m.body.response.patch, undefined);
  });

  it('a tag the rule denies is refused before any registry request', async () => {
    w.proxy.reset();
    const r = review('pod-create.json', (t) => t.replaceAll(`${w.host}/team/migrate:1.4`, `${w.host}/team/migrate`));
    const res = await postReview(w.url, 'validate', r);
    assert.equal(res.body.response.allowed, false);
    assert.match(res.body.response.status.message, /POLICY_FILE_TAG_DENIED/);
    assert.ok(!w.proxy.requests().some((q) => q.path.includes('/team/migrate/')), JSON.stringify(w.proxy.requests()));
  });

  it('warn mode allows an unverified image with a warning naming it', async () => {
    const r = review('pod-create.json', (t) => t.replaceAll(`${w.host}/infra/envoy:v1.30`, `${w.host}/sandbox/tool:1`));
    const res = await postReview(w.url, 'validate', r);
    assert.equal(res.body.response.allowed, true);
    assert.ok(res.body.response.warnings.some((x: string) => x.includes(`${w.host}/sandbox/tool:1`) && x.includes('NO_SIGNATURES')), JSON.stringify(res.body.response.warnings));
  });

  it('a warm cache answers without registry requests; a cold one takes 2 round trips per distinct image', async () => {
    const r = review('pod-create.json');
    await postReview(w.url, 'validate', r);
    w.proxy.reset();
    for (const action of ['validate', 'mutate'] as const) {
      const res = await postReview(w.url, action, r);
      assert.equal(res.body.response.allowed, true);
    }
    assert.deepEqual(w.proxy.requests(), [], 'warm: no registry request');

    w.verifier().clear();
    w.proxy.reset();
    const res = await postReview(w.url, 'validate', r);
    assert.equal(res.body.response.allowed, true);
    const reqs = w.proxy.requests();
    const distinct = new Set(imagesOf(r.request.object).map((x) => x.image));
    assert.equal(distinct.size, 3);
    for (const image of distinct) {
      const path = image.slice(w.host.length + 1).split(':')[0]!;
      const mine = reqs.filter((q) => q.path.startsWith(`/v2/${path}/`));
      assert.deepEqual(
        mine.map((q) => `${q.method} ${q.path.replace(/sha256:[0-9a-f]{64}/, 'DIGEST').replace(/\?.*$/, '')}`).sort(),
        [`GET /v2/${path}/manifests/${image.split(':').pop()}`, `GET /v2/${path}/referrers/DIGEST`].sort(),
        `${image}: ${JSON.stringify(mine)}`,
      );
    }
    assert.equal(reqs.length, 2 * distinct.size, JSON.stringify(reqs));
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    assert.match(metrics, /ocitrust_verify_outcomes_total\{source="hook",outcome="verified"\} [1-9]/);
    assert.match(metrics, /ocitrust_verify_outcomes_total\{source="hook",outcome="failed"\} [1-9]/);
  });

  it('a slow registry gets a deliberate deny inside the deadline; the background verification then admits the retry', async () => {
    const r = review('pod-create.json', (t) => t.replaceAll(`${w.host}/infra/envoy:v1.30`, `${w.host}/team/slow:1`));
    w.proxy.delayMs = 1000;
    let res;
    try {
      res = await postReview(w.url, 'validate', r);
    } finally {
      w.proxy.delayMs = 0;
    }
    assert.equal(res.body.response.allowed, false);
    assert.ok(res.ms >= DEADLINE_MS - 50 && res.ms < 10_000 * 0.9, `answered after ${res.ms} ms (deadline ${DEADLINE_MS} ms, webhook timeout 10 s)`);
    const msg: string = res.body.response.status.message;
    assert.match(msg, new RegExp(`image "${w.host}/team/slow:1" at spec\\.containers\\[1\\].*HOOK_DEADLINE_EXCEEDED`));
    assert.match(msg, /fail closed/);
    assert.doesNotMatch(msg, /team\/app:1\.2\.3"/, 'cached images are not blamed');

    // The verification started for the first request goes on (1 s per request in the proxy).
    const t0 = Date.now();
    while (Date.now() - t0 < 10_000) {
      w.proxy.reset();
      const again = await postReview(w.url, 'validate', r);
      if (again.body.response.allowed) {
        assert.deepEqual(w.proxy.requests(), [], 'the retry is answered from the cache the background verification filled');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.fail('the retry was never admitted');
  });

  it('the server reads OCITRUST_ADMISSION_POLICY and OCITRUST_ADMISSION_TIMEOUT_SECONDS', async () => {
    const file = join(w.dir, 'policy.yaml');
    const copy = join(w.dir, 'policy-env.yaml');
    writeFileSync(copy, readFileSync(file));
    const opts = await serverOptionsFromEnv({ OCITRUST_ADMISSION_POLICY: copy, OCITRUST_ADMISSION_TIMEOUT_SECONDS: '5', OCITRUST_REGISTRY: 'false' });
    assert.deepEqual(opts.admission, { policy: copy, timeoutSeconds: 5 });
    // A second instance on the same database (several servers may share one).
    const app = await buildApp({ ...opts, logger: false, secret: TEST_SECRET, scrypt: TEST_SCRYPT, dataDir: join(w.dir, 'data'), resignIntervalMs: 0, auditPruneIntervalMs: 0 });
    try {
      const r = review('cronjob-create.json');
      const res = await app.inject({ method: 'POST', url: '/admission/validate', payload: r });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().response.allowed, true, res.body);
      assert.equal(res.json().response.auditAnnotations['policy-revision'], w.policy().revision);
      const bad = review('cronjob-create.json', (t) => t.replaceAll(`${w.host}/team/report:2024.1`, `${w.host}/team/unsigned:1`));
      const denied = await app.inject({ method: 'POST', url: '/admission/validate', payload: bad });
      assert.equal(denied.json().response.allowed, false);
    } finally {
      await app.close();
    }
  });
});

describe('trust server --admission-policy (CLI process)', () => {
  it('serves the webhooks with the given policy and timeout, and refuses to start with a broken policy', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { PROJECT_ROOT } = await import('../helpers/cli.js');
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-admission-cli-'));
    const run = (args: string[]) =>
      spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'cli', 'main.ts'), 'server', '--data', join(dir, 'data'), '--listen', '127.0.0.1:0', '-o', 'json', '--log-level', 'warn', ...args], {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH, HOME: dir, OCITRUST_HOME: join(dir, 'home'), OCITRUST_SERVER_SECRET: TEST_SECRET },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    try {
      // A remote trust server needs a pinned root (the one first-use rule); this one is down.
      const { buildCollection } = await import('../helpers/collection.js');
      const pinned = await buildCollection({ collection: 'registry.example.com/team/app', signers: [{ name: 'release' }] });
      writeFileSync(join(dir, 'root.json'), pinned.files.get('1.root.json')!);
      writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nrules:\n  - {name: team, images: ["registry.example.com/team/*"], server: "http://127.0.0.1:1", root: root.json}\nunmatched: deny\n');
      const p = run(['--admission-policy', join(dir, 'policy.yaml'), '--admission-timeout', '5']);
      let out = '';
      let err = '';
      p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no listening line:\n${out}\n${err}`)), 30_000);
        p.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          const m = /"listening":"([^"]+)"/.exec(out);
          if (m) {
            clearTimeout(t);
            resolve(m[1]!);
          }
        });
        p.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}\n${err}`)));
      });
      try {
        const r = JSON.parse(readFileSync(new URL('pod-create.json', FIXTURES), 'utf8'));
        const t0 = performance.now();
        const res = await postReview(url, 'validate', r);
        assert.equal(res.status, 200);
        assert.equal(res.body.response.allowed, false);
        const msg: string = res.body.response.status.message;
        // envoy matches no rule; the team images' trust server is unreachable: both deny, with the reason.
        assert.match(msg, /registry\.example\.com\/infra\/envoy:v1\.30.*POLICY_FILE_NO_MATCH/);
        assert.match(msg, /registry\.example\.com\/team\/app:1\.2\.3.*TUF_SOURCE_UNREACHABLE/);
        assert.ok(performance.now() - t0 < 5000 * 0.8 + 1000, 'answered within the deadline of the 5 s timeout');
      } finally {
        p.kill('SIGTERM');
        await new Promise((resolve) => p.once('exit', resolve));
      }

      writeFileSync(join(dir, 'unpinned.yaml'), 'version: 1\nrules:\n  - {name: team, images: ["registry.example.com/team/*"], server: "http://127.0.0.1:1"}\n');
      const unpinned = run(['--admission-policy', join(dir, 'unpinned.yaml')]);
      let unpinnedErr = '';
      unpinned.stderr!.on('data', (b: Buffer) => (unpinnedErr += b.toString()));
      assert.equal(await new Promise<number | null>((resolve) => unpinned.once('exit', resolve)), 2, unpinnedErr);
      assert.match(unpinnedErr, /TRUST_ROOT_NOT_PINNED|never trusts a remote root on first use/);

      writeFileSync(join(dir, 'broken.yaml'), 'version: 1\nrules:\n  - {name: team, images: ["bitnami/*"], mode: enforced}\n');
      const bad = run(['--admission-policy', join(dir, 'broken.yaml')]);
      let badErr = '';
      bad.stderr!.on('data', (b: Buffer) => (badErr += b.toString()));
      const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve));
      assert.equal(code, 2, badErr);
      assert.match(badErr, /POLICY_FILE_INVALID|is invalid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
