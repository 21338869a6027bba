import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError } from '../../../lib/errors/index.js';
import { DirectoryMetadataSource, HttpMetadataSource, MemoryMetadataSource, metadataFileName, parseMetadataFileName } from '../../../lib/tuf/source.js';
import { Updater } from '../../../lib/tuf/updater.js';
import { fixedClock } from '../../../lib/clock.js';
import { TEST_TIME, buildCollection } from '../../helpers/collection.js';

const isCode = (code: string) => (e: unknown) => e instanceof OcitrustError && e.code === code;

describe('metadata file names', () => {
  it('name the consistent-snapshot layout and parse back', () => {
    const files = [{ role: 'root', version: 3 }, { role: 'timestamp' }, { role: 'snapshot', version: 12 }, { role: 'targets', version: 1 }] as const;
    assert.deepEqual(files.map(metadataFileName), ['3.root.json', 'timestamp.json', '12.snapshot.json', '1.targets.json']);
    for (const f of files) assert.deepEqual(parseMetadataFileName(metadataFileName(f)), f);
  });
  it('refuse anything else', () => {
    for (const n of ['root.json', '0.root.json', '01.root.json', '1.alice.json', '../1.root.json', '1.root.json.bak', '99999999999999999.root.json']) {
      assert.equal(parseMetadataFileName(n), null, n);
    }
    assert.throws(() => metadataFileName({ role: 'root', version: 0 }), isCode('INVALID_ARGUMENT'));
  });
});

describe('DirectoryMetadataSource', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocitrust-src-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a collection exported to a directory to the Updater', async () => {
    const c = await buildCollection({ collection: 'reg.example/app', signers: [{ name: 'alice' }] });
    await c.publishTargets();
    for (const [name, bytes] of c.files) await writeFile(join(dir, name), bytes);
    const r = await new Updater({ collection: c.collection, trustedRoot: c.rootBytes(1), source: new DirectoryMetadataSource(dir), clock: fixedClock(TEST_TIME) }).refresh();
    assert.equal(r.versions.targets, 2);
  });

  it('absent file → null; too large → TUF_SOURCE_BAD_RESPONSE; not a file → TUF_SOURCE_UNREACHABLE', async () => {
    const src = new DirectoryMetadataSource(dir);
    assert.equal(await src.fetch({ role: 'root', version: 99 }, 1000), null);
    await writeFile(join(dir, '5.targets.json'), 'x'.repeat(100));
    await assert.rejects(src.fetch({ role: 'targets', version: 5 }, 99), isCode('TUF_SOURCE_BAD_RESPONSE'));
    assert.equal((await src.fetch({ role: 'targets', version: 5 }, 100))!.length, 100);
    await mkdir(join(dir, '6.targets.json'));
    await assert.rejects(src.fetch({ role: 'targets', version: 6 }, 100), isCode('TUF_SOURCE_UNREACHABLE'));
  });
});

describe('MemoryMetadataSource', () => {
  it('returns copies and enforces maxBytes', async () => {
    const files = new Map([['timestamp.json', new Uint8Array([1, 2, 3])]]);
    const src = new MemoryMetadataSource(files);
    const b = (await src.fetch({ role: 'timestamp' }, 3))!;
    b[0] = 9;
    assert.equal(files.get('timestamp.json')![0], 1);
    await assert.rejects(src.fetch({ role: 'timestamp' }, 2), isCode('TUF_SOURCE_BAD_RESPONSE'));
    assert.equal(await src.fetch({ role: 'root', version: 1 }, 2), null);
  });
});

describe('HttpMetadataSource (construction)', () => {
  it('builds the collection URL with each segment encoded, under any base path', () => {
    assert.equal(new HttpMetadataSource('https://trust.example.com', 'reg.example:5000/team/app').description, 'https://trust.example.com/v1/collections/reg.example%3A5000/team/app/');
    assert.equal(new HttpMetadataSource('http://127.0.0.1:8080/prefix', 'a/b').description, 'http://127.0.0.1:8080/prefix/v1/collections/a/b/');
  });
  it('refuses bad arguments', () => {
    assert.throws(() => new HttpMetadataSource('ftp://x', 'a'), isCode('INVALID_ARGUMENT'));
    assert.throws(() => new HttpMetadataSource('not a url', 'a'), isCode('INVALID_ARGUMENT'));
    for (const bad of ['', 'a//b', 'a/../b', '/a']) assert.throws(() => new HttpMetadataSource('http://x', bad), isCode('INVALID_ARGUMENT'), bad);
  });
});
