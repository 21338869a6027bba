import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readTar, writeTar, safeTarPath, type TarWriteEntry } from '../../../lib/oci/tar.js';
import { isOcitrustError } from '../../../lib/errors/index.js';

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of gen) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

function chunks(b: Uint8Array, size = 700): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
  })();
}

const file = (name: string, bytes: Uint8Array): TarWriteEntry => ({ type: 'file', name, size: bytes.length, body: () => chunks(bytes, 333) });

async function readAll(b: Uint8Array, chunk = 700): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  await readTar(chunks(b, chunk), { onFile: async (h, body) => void out.set(h.name, await collect(body)) });
  return out;
}

describe('lib/oci/tar', () => {
  describe('#writeTar / #readTar', () => {
    it('round-trips files of every size class, folders included', async () => {
      const files = { 'oci-layout': new TextEncoder().encode('{}'), 'blobs/sha256/a': new Uint8Array(512).fill(7), 'blobs/sha256/b': new Uint8Array(1025).fill(9), empty: new Uint8Array(0) };
      const tar = await collect(writeTar([{ type: 'directory', name: 'blobs' }, ...Object.entries(files).map(([n, b]) => file(n, b))]));
      assert.equal(tar.length % 512, 0);
      const back = await readAll(tar);
      assert.deepEqual([...back.keys()].sort(), Object.keys(files).sort());
      for (const [n, b] of Object.entries(files)) assert.deepEqual(back.get(n), b, n);
    });

    it('writes archives POSIX tar lists and extracts (interop with GNU tar)', async () => {
      const tar = await collect(writeTar([file('blobs/sha256/x', new TextEncoder().encode('hello')), file('index.json', new TextEncoder().encode('{}'))]));
      const dir = mkdtempSync(join(tmpdir(), 'tar-'));
      writeFileSync(join(dir, 'a.tar'), tar);
      const r = spawnSync('tar', ['-xf', 'a.tar'], { cwd: dir });
      assert.equal(r.status, 0, String(r.stderr));
      assert.equal(readFileSync(join(dir, 'blobs/sha256/x'), 'utf8'), 'hello');
    });

    it('reads archives written by GNU tar (pax format)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tar-'));
      writeFileSync(join(dir, 'f'), 'x'.repeat(1000));
      const r = spawnSync('tar', ['--format=pax', '-cf', 'a.tar', 'f'], { cwd: dir });
      assert.equal(r.status, 0);
      const back = await readAll(new Uint8Array(readFileSync(join(dir, 'a.tar'))));
      assert.equal(Buffer.from(back.get('f')!).toString(), 'x'.repeat(1000));
    });
  });

  describe('when the archive is bad', () => {
    const good = async (): Promise<Uint8Array> => collect(writeTar([file('a', new Uint8Array(600).fill(1)), file('b', new Uint8Array(10).fill(2))]));

    it('refuses every truncation with TAR_TRUNCATED', async () => {
      const tar = await good();
      for (const cut of [0, 100, 512, 700, 1024, 1536, 1600, tar.length - 1024]) {
        await assert.rejects(readAll(tar.subarray(0, cut)), (e) => isOcitrustError(e, 'TAR_TRUNCATED'), `cut at ${cut}`);
      }
    });

    it('refuses a header with a wrong checksum, links, absolute and .. paths, duplicates', async () => {
      const tar = await good();
      const bent = new Uint8Array(tar);
      bent[10] = bent[10]! ^ 1;
      await assert.rejects(readAll(bent), (e) => isOcitrustError(e, 'TAR_INVALID'));
      for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a\\b']) assert.throws(() => safeTarPath(bad), (e) => isOcitrustError(e, 'TAR_INVALID'), bad);
      const dir = mkdtempSync(join(tmpdir(), 'tar-'));
      writeFileSync(join(dir, 'f'), 'x');
      spawnSync('ln', ['-s', 'f', 'l'], { cwd: dir });
      spawnSync('tar', ['-cf', 'a.tar', 'f', 'l'], { cwd: dir });
      await assert.rejects(readAll(new Uint8Array(readFileSync(join(dir, 'a.tar')))), (e) => isOcitrustError(e, 'TAR_INVALID') && /only regular files/.test((e as Error).message));
      const dup = await collect(writeTar([file('a', new Uint8Array(1)), file('a', new Uint8Array(1))]));
      await assert.rejects(readAll(dup), (e) => isOcitrustError(e, 'TAR_INVALID') && /twice/.test((e as Error).message));
    });

    it('bounds entry counts and sizes with LAYOUT_TOO_LARGE', async () => {
      const tar = await good();
      await assert.rejects(readTar(chunks(tar), { onFile: async () => undefined }, { maxEntries: 1 }), (e) => isOcitrustError(e, 'LAYOUT_TOO_LARGE'));
      await assert.rejects(readTar(chunks(tar), { onFile: async () => undefined }, { maxEntryBytes: 100 }), (e) => isOcitrustError(e, 'LAYOUT_TOO_LARGE'));
    });

    it('fuzz: any mutation or cut of an archive yields entries or a coded error, never another throw', async () => {
      const tar = await good();
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(tar.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(tar.length), fc.integer({ min: 1, max: 2048 }), async (edits, cut, chunk) => {
          const b = new Uint8Array(tar);
          for (const [i, v] of edits) b[i] = v;
          try {
            await readAll(b.subarray(0, cut), chunk);
          } catch (e) {
            assert.ok(isOcitrustError(e) && ['TAR_TRUNCATED', 'TAR_INVALID', 'LAYOUT_TOO_LARGE'].includes(e.code), String(e));
          }
        }),
        { numRuns: 400 },
      );
    });

    it('fuzz: random bytes never escape as an uncoded error', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (b) => {
          try {
            await readAll(b);
          } catch (e) {
            assert.ok(isOcitrustError(e), String(e));
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
