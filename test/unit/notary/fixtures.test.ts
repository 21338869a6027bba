// Notary v1 metadata written by Notary itself (../shared/vectors/peers/notary, README §4)
// verifies with lib/notary; tampered copies fail with named codes. Pure: the documents come
// from memory (memoryNotarySource), the real server is in test/integration/notary-dct.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { OcitrustError } from '../../../lib/errors/index.js';
import { judgeTag, loadNotaryRepo, memoryNotarySource, memoryStateStore, parseNotaryPin, type NotaryState } from '../../../lib/notary/index.js';
import { VECTORS } from '../crypto/vectors.js';

const BASE = join(VECTORS, 'peers', 'notary', 'fixtures', 'compatibility');
const V01 = { gun: 'docker.com/notary0.1/samplerepo', dir: join(BASE, 'notary0.1/tuf/docker.com/notary0.1/samplerepo/metadata') };
const V03 = { gun: 'docker.com/notary0.3/tst', dir: join(BASE, 'notary0.3/tuf/docker.com/notary0.3/tst/metadata') };
const CERT01 = join(BASE, 'notary0.1/trusted_certificates/docker.com/notary0.1/samplerepo/4ff57dc987163053a12c066f2dd36b1ae6037a92f5416d381fe311a3db1868d8.crt');
const LICENSE = readFileSync(join(VECTORS, 'peers', 'notary', 'target-LICENSE-3b7d420', 'LICENSE'));
const NOW = { now: () => new Date('2026-12-06T00:00:00Z') };

function files(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), new Uint8Array(readFileSync(p)));
    }
  };
  walk(dir);
  return out;
}

/** A copy of the repository's files with `role` changed by `edit` (the JSON document, signatures kept). */
function tampered(dir: string, role: string, edit: (doc: any) => void): Map<string, Uint8Array> {
  const f = files(dir);
  const doc = JSON.parse(Buffer.from(f.get(`${role}.json`)!).toString('utf8'));
  edit(doc);
  f.set(`${role}.json`, new Uint8Array(Buffer.from(JSON.stringify(doc))));
  return f;
}

const rootPin = (dir: string) => parseNotaryPin(files(dir).get('root.json')!);
const load = (f: Map<string, Uint8Array>, repo: typeof V01, o: { delegations?: string[]; pin?: ReturnType<typeof parseNotaryPin>; clock?: typeof NOW; state?: Map<string, NotaryState> } = {}) =>
  loadNotaryRepo({
    source: memoryNotarySource(f),
    gun: repo.gun,
    pin: o.pin ?? rootPin(repo.dir),
    clock: o.clock ?? NOW,
    delegations: o.delegations ?? [],
    ...(o.state ? { state: { store: memoryStateStore(o.state), key: 'k' } } : {}),
  });
const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof OcitrustError, String(e));
  assert.equal(e.code, c, e.message);
  return true;
};
const licenseCheck = (tag: string, bytes: Uint8Array = LICENSE) => ({ gun: V01.gun, tag, digest: 'sha256:x', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });

describe('Notary v1 fixtures (written by Notary 0.1 and 0.3)', () => {
  it('notary0.1 verifies against its pinned root certificate; LICENSE is a target of targets', async () => {
    const repo = await load(files(V01.dir), V01, { pin: parseNotaryPin(readFileSync(CERT01)) });
    assert.equal(repo.root.signed.version, 1);
    const v = judgeTag(repo, ['targets'], licenseCheck('LICENSE'));
    assert.deepEqual(v.failures, []);
    assert.equal(v.signatures.length, 1);
    assert.equal(v.signatures[0]!.format, 'notary-v1');
  });

  it('notary0.3 verifies against its root.json with the targets/releases delegation (rsa-x509 key)', async () => {
    const repo = await load(files(V03.dir), V03, { delegations: ['targets/releases'] });
    const empty = new Uint8Array();
    const v = judgeTag(repo, ['targets/releases'], { ...licenseCheck('hello', empty), gun: V03.gun });
    assert.deepEqual(v.failures, []);
    assert.deepEqual(v.signatures.map((s) => s.role), ['targets/releases']);
  });

  it('a tag signed with other bytes, or not signed, fails with its code', async () => {
    const repo = await load(files(V01.dir), V01);
    assert.deepEqual(judgeTag(repo, ['targets'], licenseCheck('LICENSE', Buffer.from('other'))).failures.map((f) => f.code), ['NOTARY_TARGET_MISMATCH']);
    assert.deepEqual(judgeTag(repo, ['targets'], licenseCheck('nope')).failures.map((f) => f.code), ['NOTARY_TARGET_MISSING']);
    assert.deepEqual(judgeTag(repo, ['targets'], { ...licenseCheck('LICENSE'), tag: undefined }).failures.map((f) => f.code), ['NOTARY_TARGET_MISSING']);
  });

  it('a required delegation that does not exist is NOTARY_DELEGATION_MISSING', async () => {
    await assert.rejects(load(files(V01.dir), V01, { delegations: ['targets/releases'] }), code('NOTARY_DELEGATION_MISSING'));
  });

  it('another repository\'s root (certificate or root.json) is not trusted', async () => {
    await assert.rejects(load(files(V03.dir), V03, { pin: parseNotaryPin(readFileSync(CERT01)) }), code('NOTARY_ROOT_NOT_TRUSTED'));
    await assert.rejects(load(files(V01.dir), V01, { pin: rootPin(V03.dir) }), code('NOTARY_ROOT_NOT_TRUSTED'));
  });

  it('tampered copies fail: signatures, hashes, lengths', async () => {
    const flipSig = (doc: any) => {
      const s = Buffer.from(doc.signatures[0].sig, 'base64');
      s[5]! ^= 1;
      doc.signatures[0].sig = s.toString('base64');
    };
    await assert.rejects(load(tampered(V01.dir, 'timestamp', flipSig), V01), code('TUF_THRESHOLD_NOT_MET'));
    await assert.rejects(load(tampered(V03.dir, 'targets/releases', flipSig), V03, { delegations: ['targets/releases'] }), code('TUF_HASH_MISMATCH'));
    // The timestamp names the snapshot's hash: any change to the snapshot bytes shows.
    await assert.rejects(load(tampered(V01.dir, 'snapshot', (d) => (d.signed.version += 1)), V01), (e) => e instanceof OcitrustError && ['TUF_LENGTH_MISMATCH', 'TUF_HASH_MISMATCH'].includes(e.code));
    await assert.rejects(load(tampered(V01.dir, 'targets', (d) => (d.signed.targets.LICENSE.length = 1)), V01), (e) => e instanceof OcitrustError && ['TUF_LENGTH_MISMATCH', 'TUF_HASH_MISMATCH'].includes(e.code));
    // A root signed by nobody it names.
    await assert.rejects(load(tampered(V01.dir, 'root', (d) => (d.signatures = [])), V01, { pin: parseNotaryPin(readFileSync(CERT01)) }), code('NOTARY_ROOT_NOT_TRUSTED'));
    await assert.rejects(load(tampered(V01.dir, 'timestamp', (d) => (d.signatures = [])), V01), code('TUF_THRESHOLD_NOT_MET'));
  });

  it('expired metadata (the clock after 2116) is TUF_EXPIRED', async () => {
    await assert.rejects(load(files(V01.dir), V01, { clock: { now: () => new Date('2117-01-01T00:00:00Z') } }), code('TUF_EXPIRED'));
  });

  it('a version lower than one trusted before is TUF_ROLLBACK; the state is remembered', async () => {
    const state = new Map<string, NotaryState>();
    await load(files(V01.dir), V01, { state });
    const saved = state.get('k')!;
    assert.ok(saved.versions.timestamp! >= 1 && saved.root.length > 0);
    state.set('k', { ...saved, versions: { ...saved.versions, timestamp: saved.versions.timestamp! + 1 } });
    await assert.rejects(load(files(V01.dir), V01, { state }), code('TUF_ROLLBACK'));
  });

  it('not a Notary server, no trust data, a bad pin file: each its code', async () => {
    const f = files(V01.dir);
    f.set('timestamp.json', new Uint8Array(Buffer.from('<html>hello</html>')));
    await assert.rejects(load(f, V01), code('NOTARY_NOT_A_SERVER'));
    await assert.rejects(load(new Map(), V01), code('NOTARY_NO_TRUST_DATA'));
    assert.throws(() => parseNotaryPin(Buffer.from('not a root')), code('NOTARY_ROOT_FILE_INVALID'));
    assert.throws(() => parseNotaryPin(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')), code('NOTARY_ROOT_FILE_INVALID'));
  });
});
