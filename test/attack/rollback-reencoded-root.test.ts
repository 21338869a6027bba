// Issue 12 item 3: rollback protection must not depend on the bytes of the pinned root.
// As attacked: sign, verify (the CLI persists the trusted state), revoke, push the signature
// back (registry attacker), then the network replays the old timestamp (validly signed, only
// old: it names the targets version without the revocation). `trust verify --root` with the
// same root pretty-printed accepted the rollback and overwrote the state, after which the
// default configuration accepted it too. Real trust server, docker-registry, the built `trust`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureCodes } from '../helpers/cli.js';
import { missingPrograms } from '../helpers/oci-layout.js';
import { ok, startSignedWorld, type SignedWorld } from '../helpers/signed-world.js';
import { buildCollection } from '../helpers/collection.js';

const skip = missingPrograms('docker-registry');

describe('attack: rollback through a re-encoded pinned root', { skip, timeout: 300_000 }, () => {
  let w: SignedWorld;
  let dir: string;
  before(async () => {
    w = await startSignedWorld();
    dir = await mkdtemp(join(tmpdir(), 'ocitrust-roots-'));
  });
  after(async () => {
    await w?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function rootFile(repo: string, name: string, transform: (text: string) => string): Promise<string> {
    const enc = repo.split('/').map(encodeURIComponent).join('/');
    const r = await fetch(`${w.ts.url}/v1/collections/${enc}/1.root.json`, { headers: { authorization: `Bearer ${w.adminToken}` } });
    assert.equal(r.status, 200);
    const p = join(dir, name);
    await writeFile(p, transform(await r.text()));
    return p;
  }

  test('a replayed old timestamp is refused with the root pretty-printed, and the default configuration still refuses it afterwards', async () => {
    const img = await w.signedImage('rollback');
    ok(await w.trust(['verify', img.ref]), 'verify (persists the trusted state)');
    const old = await w.front.snapshotTimestamp(img.repo, w.adminToken);

    ok(await w.trust(['revoke', '--reason', 'leaked build', img.ref]), 'revoke');
    await img.resurrect();
    const revoked = await w.trust(['verify', '-o', 'json', img.ref]);
    assert.equal(revoked.code, 1, revoked.stdout + revoked.stderr);
    assert.ok(failureCodes(revoked).includes('SIG_REVOKED'), failureCodes(revoked).join());

    // The network now serves the old (validly signed) timestamp: targets without the revocation.
    w.front.replayTimestamp(img.repo, old);
    const pretty = await rootFile(img.repo, 'pretty.json', (t) => JSON.stringify(JSON.parse(t), null, 2) + '\n');
    const viaPretty = await w.trust(['verify', '-o', 'json', '--root', pretty, img.ref]);
    assert.equal(viaPretty.code, 1, `the rollback must be refused: ${viaPretty.stdout}${viaPretty.stderr}`);
    assert.ok(failureCodes(viaPretty).includes('TUF_ROLLBACK'), failureCodes(viaPretty).join());

    const reordered = await rootFile(img.repo, 'reordered.json', (t) => {
      const doc = JSON.parse(t) as { signed: Record<string, unknown>; signatures: unknown[] };
      return JSON.stringify({ signatures: doc.signatures, signed: Object.fromEntries(Object.entries(doc.signed).reverse()) });
    });
    const viaReordered = await w.trust(['verify', '-o', 'json', '--root', reordered, img.ref]);
    assert.equal(viaReordered.code, 1, viaReordered.stdout + viaReordered.stderr);
    assert.ok(failureCodes(viaReordered).includes('TUF_ROLLBACK'), failureCodes(viaReordered).join());

    // Nothing was overwritten: the default configuration refuses the rollback as well.
    const dflt = await w.trust(['verify', '-o', 'json', img.ref]);
    assert.equal(dflt.code, 1, dflt.stdout + dflt.stderr);
    assert.ok(failureCodes(dflt).includes('TUF_ROLLBACK'), failureCodes(dflt).join());

    // Once the network stops lying, the revocation is seen again (state was never lowered).
    w.front.replayTimestamp(img.repo, undefined);
    const back = await w.trust(['verify', '-o', 'json', img.ref]);
    assert.equal(back.code, 1);
    assert.ok(failureCodes(back).includes('SIG_REVOKED'), failureCodes(back).join());
  });

  test('a pinned root with other keys is TRUST_PIN_MISMATCH (exit 2) naming both fingerprints, and never resets the state', async () => {
    const img = await w.signedImage('pinned');
    ok(await w.trust(['verify', img.ref]), 'verify');
    const other = await buildCollection({ collection: img.repo });
    const p = join(dir, 'other-root.json');
    await writeFile(p, other.rootBytes(1));
    const r = await w.trust(['verify', '--root', p, img.ref]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /\[TRUST_PIN_MISMATCH\]/);
    const fps = r.stderr.match(/sha256:[0-9a-f]{64}/g) ?? [];
    assert.equal(new Set(fps).size, 2, `both fingerprints named: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    ok(await w.trust(['verify', img.ref]), 'the trusted state and pin are unchanged');
  });
});
