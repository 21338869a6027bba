// `trust signer rotate` (issue 19) end to end with the shipped `trust` bundle, a trust server
// with its embedded registry, images pushed by skopeo: a signer's key rotated from one file to
// another, and from a file to a key in a SoftHSM2 token. After the rotation the old key's
// signature no longer counts (SIG_KEY_NOT_DELEGATED), the new key's does; bad requests are
// coded errors with exit 2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOk as ok, expectFails as fails, CliSession, failureCodes, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { makeImage, missingPrograms, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { createSoftHsm, softhsmMissing, type SoftHsm } from '../helpers/softhsm.js';

const skip = softhsmMissing() ?? missingPrograms('skopeo');

describe('trust signer rotate', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let hsm: SoftHsm;
  let work: string;
  let token: string;
  let host: string;

  const run = (args: string[]): Promise<TrustRun> => s.run(args, { dist: true });

  before(async () => {
    hsm = createSoftHsm('ci');
    ts = await startTrustServer({ registry: true });
    token = await ts.token();
    host = new URL(ts.url).host;
    work = await mkdtemp(join(tmpdir(), 'ocitrust-cli-signer-rotate-'));
    s = new CliSession({ server: ts.url, token, env: { ...hsm.env } });
  });
  after(async () => {
    await ts?.close();
    s?.cleanup();
    hsm?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  let n = 0;
  async function push(repo: string, tag: string): Promise<void> {
    const dir = join(work, `layout-${++n}`);
    await writeOciLayout(dir, [{ tag, content: makeImage() }]);
    await skopeoPush(dir, tag, `${repo}:${tag}`, `ocitrust:${token}`);
  }
  const keyid = (r: TrustRun): string => r.stdout.trim();
  async function verify(ref: string): Promise<{ run: TrustRun; result: { verified: boolean; signatures: { role: string; keyid: string }[] } }> {
    const r = await run(['verify', '-o', 'json', ref]);
    return { run: r, result: JSON.parse(r.stdout).results[0] };
  }
  const signers = async (repo: string): Promise<[string, string[], number][]> =>
    (JSON.parse(ok(await run(['signer', 'list', '-o', 'json', repo]), 'signer list').stdout).signers as { name: string; keyids: string[]; threshold: number }[]).map((x) => [x.name, x.keyids, x.threshold]);

  test('file key to file key: one publish, the old signature stops counting, the new one counts; bad requests are coded', async () => {
    const repo = `${host}/rotate/app`;
    ok(await run(['init', repo]), 'init');
    const old = keyid(ok(await run(['key', 'generate', 'alice-old', '--dir', work]), 'alice old key'));
    ok(await run(['signer', 'add', '--key', join(work, 'alice-old.pub'), 'alice', repo]), 'signer add');
    await push(repo, 'v1');
    ok(await run(['sign', '--signer', 'alice', '--key', 'alice-old', `${repo}:v1`]), 'sign with the old key');
    assert.equal((await verify(`${repo}:v1`)).result.verified, true);

    const fresh = keyid(ok(await run(['key', 'generate', 'alice-new', '--dir', work]), 'alice new key'));
    const rot = JSON.parse(ok(await run(['signer', 'rotate', '-o', 'json', '--key', join(work, 'alice-new.pub'), 'alice', repo]), 'signer rotate').stdout).results[0];
    assert.deepEqual([rot.signer, rot.keyidsAdded, rot.keyidsRemoved, rot.keyids, rot.threshold], ['alice', [fresh], [old], [fresh], 1]);
    assert.deepEqual(rot.releases, { keyidsAdded: [fresh], keyidsRemoved: [old] });
    assert.equal(rot.version, 3, 'init (1), signer add (2), one publish for the rotation (3)');
    assert.deepEqual(await signers(repo), [['alice', [fresh], 1], ['releases', [fresh], 1]]);

    // The signature by the removed key no longer counts (exit 1), by the key's fault.
    const v1 = await verify(`${repo}:v1`);
    assert.equal(v1.run.code, 1, v1.run.stderr);
    assert.equal(v1.result.verified, false);
    assert.ok(failureCodes(v1.run).includes('SIG_KEY_NOT_DELEGATED'), JSON.stringify(failureCodes(v1.run)));
    await push(repo, 'v2');
    ok(await run(['sign', '--signer', 'alice', '--key', 'alice-new', `${repo}:v2`]), 'sign with the new key');
    const v2 = await verify(`${repo}:v2`);
    assert.equal(v2.result.verified, true, JSON.stringify(v2.result));
    assert.deepEqual(v2.result.signatures.map((x) => [x.role, x.keyid]), [['alice', fresh]]);

    // Bad requests: each a coded error, exit 2, nothing published.
    ok(await run(['key', 'generate', 'alice-3', '--dir', work]), 'third key');
    const third = join(work, 'alice-3.pub');
    fails(await run(['signer', 'rotate', '--key', third, 'mallory', repo]), 2, 'METADATA_ROLE_NOT_FOUND', /"alice"/);
    fails(await run(['signer', 'rotate', '--key', third, '--remove', old, 'alice', repo]), 2, 'SIGNER_KEY_NOT_FOUND', /0 matches/);
    fails(await run(['signer', 'rotate', '--key', third, '--threshold', '2', 'alice', repo]), 2, 'METADATA_THRESHOLD_INVALID', /--threshold/);
    fails(await run(['signer', 'rotate', '--key', join(work, 'alice-new.pub'), 'alice', repo]), 2, 'INVALID_ARGUMENT', /no change/);
    fails(await run(['signer', 'rotate', '--key', join(work, 'missing.pub'), 'alice', repo]), 2, 'CLI_INPUT_UNREADABLE');
    assert.deepEqual(await signers(repo), [['alice', [fresh], 1], ['releases', [fresh], 1]], 'no failed request changed anything');

    // --remove keeps the other keys: alice gets a second key and threshold 2, then one key is
    // swapped (a keyid prefix names it); with threshold 2 no key joins releases.
    const k3 = (JSON.parse(ok(await run(['key', 'list', '-o', 'json']), 'key list').stdout).keys as { name: string; keyid: string }[]).find((k) => k.name === 'alice-3')!.keyid;
    ok(await run(['signer', 'add', '--key', third, '--threshold', '2', 'alice', repo]), 'second key, threshold 2');
    const k4 = keyid(ok(await run(['key', 'generate', 'alice-4', '--dir', work]), 'fourth key'));
    fails(await run(['signer', 'rotate', '--key', join(work, 'alice-4.pub'), '--remove', fresh, '--remove', k3, 'alice', repo]), 2, 'METADATA_THRESHOLD_INVALID', /keep 1 key\(s\) with threshold 2/);
    const swap = JSON.parse(ok(await run(['signer', 'rotate', '-o', 'json', '--key', join(work, 'alice-4.pub'), '--remove', fresh.slice(0, 8), 'alice', repo]), 'swap one key').stdout).results[0];
    assert.deepEqual([swap.keyidsAdded, swap.keyidsRemoved, [...swap.keyids].sort(), swap.threshold], [[k4], [fresh], [k3, k4].sort(), 2]);
    assert.deepEqual(await signers(repo), [['alice', swap.keyids, 2]], 'the removed key left releases; none joined it (threshold 2), so releases is gone');
  });

  test('a signer rotated from a file key into a SoftHSM2 token: old signature refused, the token key signs and verifies', async () => {
    const repo = `${host}/rotate/hsm`;
    ok(await run(['init', repo]), 'init');
    const file = keyid(ok(await run(['key', 'generate', 'bob-file', '--dir', work]), 'bob file key'));
    ok(await run(['signer', 'add', '--key', join(work, 'bob-file.pub'), 'bob', repo]), 'signer add (file)');
    await push(repo, 'v1');
    ok(await run(['sign', '--signer', 'bob', '--key', 'bob-file', `${repo}:v1`]), 'sign with the file key');
    assert.equal((await verify(`${repo}:v1`)).result.verified, true);

    const inToken = keyid(ok(await run(['--pin-file', hsm.pinFile, 'key', 'generate', 'bob-hsm', '--type', 'ecdsa-p256', '--pkcs11', hsm.uri('bob'), '--dir', work]), 'bob key in the token'));
    // The public key is read from the token (no PIN needed).
    const rot = JSON.parse(ok(await run(['signer', 'rotate', '-o', 'json', '--key', hsm.uri('bob'), 'bob', repo]), 'rotate into the token').stdout).results[0];
    assert.deepEqual([rot.keyidsAdded, rot.keyidsRemoved], [[inToken], [file]]);
    assert.deepEqual(await signers(repo), [['bob', [inToken], 1], ['releases', [inToken], 1]]);

    const v1 = await verify(`${repo}:v1`);
    assert.equal(v1.run.code, 1, v1.run.stderr);
    assert.ok(failureCodes(v1.run).includes('SIG_KEY_NOT_DELEGATED'), JSON.stringify(failureCodes(v1.run)));
    await push(repo, 'v2');
    ok(await run(['--pin-file', hsm.pinFile, 'sign', '--signer', 'bob', '--key', hsm.uri('bob'), `${repo}:v2`]), 'sign with the token key');
    const v2 = await verify(`${repo}:v2`);
    assert.equal(v2.result.verified, true, JSON.stringify(v2.result));
    assert.deepEqual(v2.result.signatures.map((x) => [x.role, x.keyid]), [['bob', inToken]]);
  });
});
