// Issue 12 item 6 (a, b): cached trust data used when it must not be.
// - A bad or revoked token got "trust server unreachable (HTTP 401); using cached trust data",
//   then exit 0: a refusal of the credentials is an input error (exit 2, AUTH_TOKEN_INVALID,
//   naming the token source), never "unreachable", never a fallback to the cache.
// - A network attacker who blocks the trust server after a revocation kept the revoked
//   signature valid while the cache was young: the CLI fails closed (exit 3) unless offline
//   use was asked for (--offline, or a policy's trustMaxAgeSeconds).
// - Services (admission webhooks) keep their last good data until it expires and report the
//   staleness (metrics, /readyz).
// Real trust server behind a hostile front, docker-registry, the built `trust` binary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, revokeToken } from '../../server/tokens.js';
import { CliSession, failureCodes } from '../helpers/cli.js';
import { missingPrograms } from '../helpers/oci-layout.js';
import { ok, startSignedWorld, type SignedWorld } from '../helpers/signed-world.js';
import { startAdmissionWorld, postReview, type AdmissionWorld } from '../helpers/admission-world.js';
import { podReview } from '../helpers/admission-review.js';
import { startTrustFront, type TrustFront } from '../helpers/trust-front.js';

const skip = missingPrograms('docker-registry');

describe('attack: stale trust cache (CLI)', { skip, timeout: 300_000 }, () => {
  let w: SignedWorld;
  let dir: string;
  before(async () => {
    w = await startSignedWorld();
    dir = await mkdtemp(join(tmpdir(), 'ocitrust-stale-'));
  });
  after(async () => {
    w.front.blocked = false;
    await w?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a revoked token → exit 2 AUTH_TOKEN_INVALID naming the token source, never "unreachable", never the cache', async () => {
    const img = await w.signedImage('token');
    ok(await w.trust(['verify', img.ref]), 'verify (persists trusted state)');
    const { secret, token } = await createToken(w.ts.server.app.ocitrust.db, { role: 'reader', patterns: ['**'] });
    await revokeToken(w.ts.server.app.ocitrust.db, token.id);

    const viaEnv = await w.trust(['verify', img.ref], { OCITRUST_TOKEN: secret });
    assert.equal(viaEnv.code, 2, viaEnv.stdout + viaEnv.stderr);
    assert.match(viaEnv.stderr, /\[AUTH_TOKEN_INVALID\]/);
    assert.match(viaEnv.stderr, /OCITRUST_TOKEN/);
    assert.doesNotMatch(viaEnv.stderr + viaEnv.stdout, /unreachable|cached trust data/i);

    const file = join(dir, 'token.txt');
    await writeFile(file, `${secret}\n`);
    const viaFile = await w.trust(['verify', '--token-file', file, img.ref], { OCITRUST_TOKEN: undefined });
    assert.equal(viaFile.code, 2, viaFile.stdout + viaFile.stderr);
    assert.match(viaFile.stderr, /\[AUTH_TOKEN_INVALID\]/);
    assert.ok(viaFile.stderr.includes(`--token-file ${file}`), viaFile.stderr);
    assert.doesNotMatch(viaFile.stderr, /unreachable|cached trust data/i);

    // Even with offline use allowed by policy, a refused token is not "unreachable".
    const policy = join(dir, 'policy-token.yaml');
    await writeFile(policy, ['version: 1', 'defaults: {trustMaxAgeSeconds: 3600}', 'rules:', '  - name: all', `    images: ["${w.reg.host}/**"]`, ''].join('\n'));
    const viaPolicy = await w.trust(['verify', '--policy', policy, img.ref], { OCITRUST_TOKEN: secret });
    assert.equal(viaPolicy.code, 2, viaPolicy.stdout + viaPolicy.stderr);
    assert.match(viaPolicy.stderr, /\[AUTH_TOKEN_INVALID\]/);
  });

  test('the trust server blocked after a revocation → exit 3, not the cached "verified"; --offline and a policy maximum age use the cache, and say so', async () => {
    const img = await w.signedImage('blocked');
    const other = await w.signedImage('offline');
    ok(await w.trust(['verify', img.ref, other.ref]), 'verify both (persists trusted state)');
    // The revocation is published, the signature pushed back by the registry attacker, and the
    // network blocks the trust server before this client sees the new targets.
    const clean = new CliSession({ server: w.front.url, token: w.adminToken });
    try {
      // The publisher's other machine: same keys, its own trust state.
      await cp(join(w.s.home, 'keys'), join(clean.home, 'keys'), { recursive: true });
      ok(await clean.run(['revoke', '--reason', 'leaked', img.ref], { dist: true }), 'revoke from another machine');
    } finally {
      clean.cleanup();
    }
    await img.resurrect();
    w.front.blocked = true;
    try {
      const r = await w.trust(['verify', '-o', 'json', img.ref]);
      assert.equal(r.code, 3, `must fail closed: ${r.stdout}${r.stderr}`);
      assert.ok(failureCodes(r).includes('TUF_SOURCE_UNREACHABLE'), failureCodes(r).join());
      assert.doesNotMatch(r.stderr, /using cached trust data/);

      // Offline use, asked for: the persisted data (unexpired) is used, with a warning.
      const off = await w.trust(['verify', '--offline', other.ref]);
      assert.equal(off.code, 0, off.stdout + off.stderr);
      assert.match(off.stderr, /offline \(--offline\); using cached trust data/);

      const policy = join(dir, 'policy-maxage.yaml');
      await writeFile(policy, ['version: 1', 'rules:', '  - name: all', `    images: ["${w.reg.host}/**"]`, '    trustMaxAgeSeconds: 3600', ''].join('\n'));
      const byPolicy = await w.trust(['verify', '--policy', policy, other.ref]);
      assert.equal(byPolicy.code, 0, byPolicy.stdout + byPolicy.stderr);
      assert.match(byPolicy.stderr, /trust server unreachable .*using cached trust data/);

      // Without either, the image that is not revoked is not decided either: exit 3.
      const strict = await w.trust(['verify', other.ref]);
      assert.equal(strict.code, 3, strict.stdout + strict.stderr);
    } finally {
      w.front.blocked = false;
    }
    const back = await w.trust(['verify', '-o', 'json', img.ref]);
    assert.equal(back.code, 1);
    assert.ok(failureCodes(back).includes('SIG_REVOKED'), failureCodes(back).join());
  });
});

describe('attack: stale trust data in the admission webhooks', { timeout: 120_000 }, () => {
  let w: AdmissionWorld;
  let front: TrustFront;
  before(async () => {
    // Every review refreshes (trustRefreshSeconds 0), so a blocked server is met at once.
    w = await startAdmissionWorld({ admission: { trustRefreshSeconds: 0 } });
    front = await startTrustFront(w.url);
  });
  after(async () => {
    await front?.close();
    await w?.close();
  });

  test('a blocked trust server: the last good data is kept (until it expires), the staleness is a metric and /readyz says degraded', async () => {
    const coll = `${w.host}/svc`;
    const root = await w.createCollection(coll, [`${coll}/*`]);
    const { reference } = await w.pushImage('svc/app', '1');
    await w.sign(reference);
    await w.usePolicy(['version: 1', 'rules:', '  - name: svc', `    images: ["${coll}/*"]`, `    collection: ${coll}`, `    server: ${front.url}`, `    root: ${root}`, ''].join('\n'));

    const review = podReview({ namespace: 'default', images: [reference] });
    const first = await postReview(w.url, 'validate', review);
    assert.equal(first.body.response.allowed, true, JSON.stringify(first.body.response.status));
    assert.deepEqual(await (await fetch(`${w.url}/readyz`)).json(), { status: 'ready' });

    front.blocked = true;
    const second = await postReview(w.url, 'validate', review);
    assert.equal(second.body.response.allowed, true, `last good data kept: ${JSON.stringify(second.body.response.status)}`);

    const metrics = await (await fetch(`${w.url}/metrics`, { headers: { authorization: `Bearer ${w.token}` } })).text();
    const labels = `face="hook",server="${front.url}",collection="${coll}"`;
    assert.match(metrics, new RegExp(`ocitrust_trust_data_stale\\{${labels.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\} 1`));
    assert.match(metrics, /ocitrust_trust_data_age_seconds\{face="hook",[^}]*\} \d+/);
    assert.match(metrics, /ocitrust_trust_data_expires_in_seconds\{face="hook",[^}]*\} \d+/);
    assert.match(metrics, /ocitrust_trust_refresh_failures_total\{face="hook",code="TUF_SOURCE_UNREACHABLE"\} [1-9]/);
    const ready = await fetch(`${w.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'degraded' });

    front.blocked = false;
    const third = await postReview(w.url, 'validate', review);
    assert.equal(third.body.response.allowed, true);
    assert.deepEqual(await (await fetch(`${w.url}/readyz`)).json(), { status: 'ready' });
  });
});
