import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError } from '../../../lib/errors/index.js';
import { FileTrustCache, type CachedTrust } from '../../../lib/tuf/store.js';
import { OcitrustHome } from '../../../lib/usecases/home.js';
import { Updater } from '../../../lib/tuf/updater.js';
import { fixedClock } from '../../../lib/clock.js';
import { TEST_TIME, buildCollection } from '../../helpers/collection.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocitrust-cache-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const k = (collection: string) => ({ server: 'http://127.0.0.1:7443', collection });
const isCode = (code: string) => (e: unknown) => e instanceof OcitrustError && e.code === code;
const entry = (n: number): CachedTrust => ({
  chain: [{ version: 1, fingerprint: 'a'.repeat(64) }],
  refreshedAt: '2026-01-01T00:00:00Z',
  root: new Uint8Array([1, 2, n]),
  timestamp: new Uint8Array([3]),
  targets: new Uint8Array(0),
});

describe('FileTrustCache', () => {
  it('returns null for an unknown collection', async () => {
    assert.equal(await new FileTrustCache(join(dir, 'none')).read(k('reg.example/app')), null);
  });

  it('writes atomically with mode 0600 and reads back what it wrote', async () => {
    const cache = new FileTrustCache(join(dir, 'a'));
    await cache.write(k('reg.example/app'), entry(1));
    await cache.write(k('reg.example/app'), entry(2));
    const got = await cache.read(k('reg.example/app'));
    assert.deepEqual(got, entry(2));
    const p = cache.pathOf(k('reg.example/app'));
    assert.equal((await stat(p)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(join(dir, 'a'))).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  });

  it('keeps collections apart and never lets a name escape the directory', async () => {
    const cache = new FileTrustCache(join(dir, 'b'));
    for (const name of ['..', '.', 'a/../../x', 'reg.example:5000/team/app']) {
      const p = cache.pathOf(k(name));
      assert.equal(join(dir, 'b'), join(p, '..'), name);
    }
    await cache.write(k('x/y'), entry(1));
    await cache.write(k('x'), entry(2));
    assert.deepEqual((await cache.read(k('x/y')))!.root, entry(1).root);
    assert.deepEqual((await cache.read(k('x')))!.root, entry(2).root);
  });

  it('flat in the size of the home: a collection reads its own pin and cache file by name, whatever else 1,000 other collections left there (issue 20)', async () => {
    // A home where any directory scan, or any read of another collection's file, would fail:
    // 1,000 other collections with corrupt pins and cache files, plus a folder named like a
    // cache file. Reading one collection opens exactly its two files by name.
    const home = new OcitrustHome(join(dir, 'big-home'));
    const cache = home.trustCache();
    await mkdir(home.rootsDir, { recursive: true });
    await mkdir(home.trustDir, { recursive: true });
    for (let i = 0; i < 1000; i++) {
      await writeFile(home.pinPath(`reg.example/other-${i}`), '{corrupt');
      await writeFile(cache.pathOf(k(`reg.example/other-${i}`)), '{corrupt');
    }
    await mkdir(cache.pathOf(k('reg.example/a-folder')));
    const root = new Uint8Array([7, 7, 7]);
    await home.writePin({ collection: 'reg.example/app', root, how: 'init', pinnedAt: '2026-01-01T00:00:00Z' });
    await cache.write(k('reg.example/app'), entry(9));
    assert.deepEqual((await home.readPin('reg.example/app'))!.root, root);
    assert.deepEqual(await cache.read(k('reg.example/app')), entry(9));
    assert.equal(await home.readPin('reg.example/unknown'), null);
    assert.equal(await cache.read(k('reg.example/unknown')), null);
    // The corrupt neighbours are there, and would have failed a reader that touched them.
    await assert.rejects(home.readPin('reg.example/other-0'), isCode('PIN_STORE_IO'));
    await assert.rejects(cache.read(k('reg.example/other-999')), isCode('TUF_CACHE_IO'));
  });

  it('a corrupt cache file → TUF_CACHE_IO naming the file', async () => {
    const cache = new FileTrustCache(join(dir, 'c'));
    await cache.write(k('app'), entry(1));
    await writeFile(cache.pathOf(k('app')), '{"format":"nope"}');
    await assert.rejects(cache.read(k('app')), isCode('TUF_CACHE_IO'));
    await writeFile(cache.pathOf(k('app')), 'not json');
    await assert.rejects(cache.read(k('app')), isCode('TUF_CACHE_IO'));
  });

  it('an unwritable location → TUF_CACHE_IO', async () => {
    const file = join(dir, 'plainfile');
    await writeFile(file, 'x');
    await assert.rejects(new FileTrustCache(join(file, 'sub')).write(k('app'), entry(1)), isCode('TUF_CACHE_IO'));
  });

  it('rollback protection survives a new process: a second Updater over the same directory refuses an older timestamp', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
    const old = new Map(c.files);
    await c.publishTimestamp();
    const clock = fixedClock(TEST_TIME);
    const mk = (): Updater => new Updater({ collection: c.collection, trustedRoot: c.rootBytes(1), source: c.source(), cache: new FileTrustCache(join(dir, 'd')), clock });
    assert.equal((await mk().refresh()).versions.timestamp, 2);
    c.files.clear();
    for (const [k, v] of old) c.files.set(k, v);
    await assert.rejects(mk().refresh(), isCode('TUF_ROLLBACK'));
  });

  it('keys state by (server, collection): the same collection on two servers is two states; URL spelling does not matter', async () => {
    const cache = new FileTrustCache(join(dir, 'e'));
    await cache.write({ server: 'http://a.example:1/', collection: 'x' }, entry(1));
    await cache.write({ server: 'http://b.example:1', collection: 'x' }, entry(2));
    assert.deepEqual((await cache.read({ server: 'HTTP://A.example:1', collection: 'x' }))!.root, entry(1).root);
    assert.deepEqual((await cache.read({ server: 'http://b.example:1', collection: 'x' }))!.root, entry(2).root);
    // A file copied under another state's name is refused, not used.
    await writeFile(cache.pathOf({ server: 'http://c.example:1', collection: 'x' }), await readFile(cache.pathOf({ server: 'http://a.example:1', collection: 'x' })));
    await assert.rejects(cache.read({ server: 'http://c.example:1', collection: 'x' }), isCode('TUF_CACHE_IO'));
  });

  it('reads a per-collection file of the older format as the baseline of a state without a file', async () => {
    const d = join(dir, 'f');
    await mkdir(d, { recursive: true });
    const legacy = { format: 'ocitrust.trust-cache.v1', anchor: 'b'.repeat(64), refreshedAt: '2026-01-01T00:00:00Z', root: Buffer.from([9, 9]).toString('base64') };
    await writeFile(join(d, `c-${encodeURIComponent('reg.example/app')}.json`), JSON.stringify(legacy));
    const got = await new FileTrustCache(d).read(k('reg.example/app'));
    assert.deepEqual(got, { refreshedAt: legacy.refreshedAt, chain: [], root: new Uint8Array([9, 9]) });
  });
});
