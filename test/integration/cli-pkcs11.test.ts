// Keys that never leave hardware (issue 19), end to end with Debian's SoftHSM2 (a token
// initialized per run in a temp folder) and the shipped `trust` bundle: keys generated inside
// the token, a collection whose root key is in the token and targets key in a file, a signer
// whose key is in the token, sign and verify, a signer moving from a file key to a token key,
// the targets key rotated into the token, a revocation signed by it, the root rotated from the
// token to a file — and tuf-js (a TUF client nobody here wrote) refreshing the collection whose
// root the HSM signed (ECDSA P-256). Then every bad input: a clear PKCS11_* code and exit code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { Updater as TufJsUpdater } from 'tuf-js';
import { expectOk as ok, expectFails as fails, CliSession, PROJECT_ROOT, startTrustServer, type TestTrustServer, type TrustRun } from '../helpers/cli.js';
import { makeImage, missingPrograms, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { createSoftHsm, SOFTHSM_MODULE, softhsmMissing, type SoftHsm } from '../helpers/softhsm.js';

const skip = softhsmMissing() ?? missingPrograms('skopeo');

describe('trust with keys in a PKCS#11 token (SoftHSM2)', { skip, timeout: 600_000 }, () => {
  let ts: TestTrustServer;
  let s: CliSession;
  let hsm: SoftHsm;
  let work: string;
  let token: string;
  let embedded: string;

  const run = (args: string[], env: Record<string, string | undefined> = {}): Promise<TrustRun> => s.run(args, { dist: true, env });
  /** Runs with the PIN from --pin-file (as the docs recommend). */
  const withPin = (args: string[]): Promise<TrustRun> => run(['--pin-file', hsm.pinFile, ...args]);

  before(async () => {
    hsm = createSoftHsm('ci');
    ts = await startTrustServer({ registry: true });
    token = await ts.token();
    embedded = new URL(ts.url).host;
    work = await mkdtemp(join(tmpdir(), 'ocitrust-cli-pkcs11-'));
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
  const verifyJson = async (ref: string) => JSON.parse((await run(['verify', '-o', 'json', ref])).stdout).results[0];

  test('generate in the token, init with the root key in the token, sign with a token key, verify, rotate, revoke; tuf-js refreshes', async () => {
    const repo = `${embedded}/hsm/app`;
    // Keys generated inside the token: the root ECDSA P-256 (CKM_EC_KEY_PAIR_GEN), a signer Ed25519 (CKM_EC_EDWARDS_KEY_PAIR_GEN).
    const root = ok(await withPin(['key', 'generate', 'hsm-root', '--type', 'ecdsa-p256', '--pkcs11', hsm.uri('root'), '--dir', work]), 'generate root in token');
    const rootKeyid = keyid(root);
    assert.match(await readFile(join(work, 'hsm-root.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
    const alice = ok(await withPin(['key', 'generate', 'hsm-alice', '--type', 'ed25519', '--pkcs11', hsm.uri('alice'), '--dir', work]), 'generate alice in token');
    const list = JSON.parse(ok(await run(['key', 'list', '-o', 'json']), 'key list').stdout) as { keys: { name: string; keyid: string; uri?: string }[] };
    assert.deepEqual(list.keys.map((k) => [k.name, k.uri]), [['hsm-alice', hsm.uri('alice')], ['hsm-root', hsm.uri('root')]]);
    // The private key stays in the token: it cannot be exported.
    fails(await run(['key', 'export', 'hsm-root', '--out', join(work, 'x.pem')]), 2, 'KEY_REFERENCE_INVALID', /cannot be decrypted or exported/);

    // Root key in the token (addressed by URI), targets key in a file (generated).
    const init = JSON.parse(ok(await withPin(['init', '-o', 'json', repo, '--root-key', hsm.uri('root')]), 'init').stdout);
    assert.equal(init.rootKey.keyid, rootKeyid);
    assert.equal(init.rootKey.name, 'hsm-root', 'the URI resolves to the recorded key');
    assert.equal(init.targetsKey.generated, true);

    // A signer whose public key is read from the token.
    ok(await run(['signer', 'add', '--key', hsm.uri('alice'), 'alice', repo]), 'signer add from the token');
    await push(repo, 'v1');
    ok(await withPin(['sign', '--key', hsm.uri('alice'), `${repo}:v1`]), 'sign with the token key');
    const v1 = await verifyJson(`${repo}:v1`);
    assert.equal(v1.verified, true, JSON.stringify(v1));
    assert.deepEqual(v1.signatures.map((x: { role: string; keyid: string }) => [x.role, x.keyid]), [['alice', keyid(alice)]]);

    // Signer bob moves from a file key to a token key (the PIN from the environment this time).
    ok(await run(['key', 'generate', 'bob-file', '--dir', work]), 'bob file key');
    ok(await run(['signer', 'add', '--key', join(work, 'bob-file.pub'), 'bob', repo]), 'signer add bob (file)');
    await push(repo, 'v2');
    ok(await run(['sign', '--signer', 'bob', '--key', 'bob-file', `${repo}:v2`]), 'bob signs with the file key');
    const bobHsm = ok(await run(['key', 'generate', 'bob-hsm', '--type', 'ecdsa-p256', '--pkcs11', hsm.uri('bob'), '--dir', work], { OCITRUST_PKCS11_PIN: hsm.pin }), 'bob key in token');
    ok(await run(['signer', 'add', '--key', hsm.uri('bob'), 'bob', repo]), 'bob token key added');
    await push(repo, 'v3');
    ok(await run(['sign', '--signer', 'bob', '--key', 'bob-hsm', `${repo}:v3`], { OCITRUST_PKCS11_PIN: hsm.pin }), 'bob signs with the token key (ECDSA, CKM_ECDSA)');
    const v3 = await verifyJson(`${repo}:v3`);
    assert.equal(v3.verified, true, JSON.stringify(v3));
    assert.deepEqual(v3.signatures.map((x: { keyid: string }) => x.keyid), [keyid(bobHsm)]);
    assert.equal((await verifyJson(`${repo}:v2`)).verified, true, 'the file key signature still counts');

    // The targets key rotates from its file into the token: root v2 signed by the token's root key.
    // The key is made in the token first; rotating to its URI records it.
    ok(await withPin(['key', 'generate', 'targets-hsm', '--type', 'ecdsa-p256', '--pkcs11', hsm.uri('targets2'), '--dir', work]), 'targets key in token');
    const rot = JSON.parse(ok(await withPin(['key', 'rotate', '-o', 'json', repo, 'targets', '--key', hsm.uri('targets2')]), 'rotate targets to token').stdout);
    assert.equal(rot.versions.root, 2);
    assert.equal(rot.newKey.name, 'targets-hsm');
    // The revocation is signed by the targets key in the token.
    ok(await withPin(['revoke', `${repo}:v1`, '--reason', 'token test']), 'revoke');
    const revoked = await run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(revoked.code, 1, revoked.stderr);
    assert.equal(JSON.parse(revoked.stdout).results[0].verified, false);
    assert.equal((await verifyJson(`${repo}:v3`)).verified, true);

    // The root rotates from the token to a file key (signed by both, TUF 5.3.4).
    ok(await run(['key', 'generate', 'root-file', '--dir', work]), 'root file key');
    const rootRot = JSON.parse(ok(await withPin(['key', 'rotate', '-o', 'json', repo, 'root', '--key', 'root-file']), 'rotate root from token to file').stdout);
    assert.equal(rootRot.versions.root, 3);
    assert.equal((await verifyJson(`${repo}:v3`)).verified, true, 'after both rotations');

    // tuf-js trusts root v1 (signed by the HSM's ECDSA key) and walks to root v3.
    const dir = await mkdtemp(join(work, 'tufjs-'));
    const base = `${ts.url}/v1/collections/${repo}`;
    await writeFile(join(dir, 'root.json'), Buffer.from(await (await fetch(`${base}/1.root.json`)).arrayBuffer()));
    const root1 = JSON.parse(await readFile(join(dir, 'root.json'), 'utf8'));
    assert.equal(root1.signatures[0].keyid, rootKeyid, 'root v1 is signed by the token key');
    assert.equal(root1.signed.keys[rootKeyid].scheme, 'ecdsa-sha2-nistp256');
    const u = new TufJsUpdater({ metadataDir: dir, metadataBaseUrl: base, targetDir: dir, config: { fetchRetries: 0 } });
    await u.refresh();
    const version = async (role: string) => JSON.parse(await readFile(join(dir, `${role}.json`), 'utf8')).signed.version;
    assert.equal(await version('root'), 3);
    const targets = JSON.parse(await readFile(join(dir, 'targets.json'), 'utf8'));
    assert.ok(targets.signed.delegations.roles.some((r: { name: string }) => r.name === 'alice'));
  });

  test('signer plugin keys sign like token keys (test plugin on PATH)', async () => {
    const repo = `${embedded}/hsm/plugin`;
    const keys = await mkdtemp(join(work, 'plugin-keys-'));
    await writeFile(join(keys, 'ec.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const env = { PATH: `${join(PROJECT_ROOT, 'test', 'fixtures', 'signer-plugin')}${delimiter}${process.env.PATH}`, OCITRUST_TEST_PLUGIN_KEYS: keys };
    ok(await run(['init', repo], env), 'init');
    ok(await run(['signer', 'add', '--key', 'plugin:test:raw:ec', 'kms', repo], env), 'signer add from the plugin');
    await push(repo, 'v1');
    ok(await run(['sign', '--key', 'plugin:test:raw:ec', `${repo}:v1`], env), 'sign through the plugin');
    assert.equal((await verifyJson(`${repo}:v1`)).verified, true);
    // A plugin that signs with another key publishes nothing.
    for (const k of ['liar', 'other']) await writeFile(join(keys, `${k}.pem`), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    ok(await run(['key', 'add', 'plugin:test:wrongkey:liar', '--name', 'liar'], env), 'key add');
    ok(await run(['signer', 'add', '--key', 'plugin:test:wrongkey:liar', 'liar', repo], env), 'signer add liar');
    await push(repo, 'v2');
    fails(await run(['sign', '--signer', 'liar', '--key', 'liar', `${repo}:v2`], env), 3, 'SIGNATURE_UNVERIFIED');
    const v2 = await run(['verify', '-o', 'json', `${repo}:v2`]);
    assert.equal(v2.code, 1, 'nothing was published for v2');
  });

  test('bad input: each a PKCS11_* code saying what to check, with the right exit code', async () => {
    // No PIN anywhere and no terminal.
    fails(await run(['key', 'generate', 'np', '--pkcs11', hsm.uri('np'), '--dir', work]), 2, 'PKCS11_PIN_MISSING', /--pin-file/);
    // A wrong PIN.
    const wrong = join(work, 'wrong-pin');
    await writeFile(wrong, '0000\n');
    fails(await run(['--pin-file', wrong, 'key', 'generate', 'wp', '--pkcs11', hsm.uri('wp'), '--dir', work]), 2, 'PKCS11_PIN_INCORRECT', /refused the PIN \(CKR_PIN_INCORRECT\)/);
    // A PIN in the URI is refused before anything is touched.
    fails(await withPin(['key', 'generate', 'pv', '--pkcs11', `${hsm.uri('pv')}&pin-value=1234`, '--dir', work]), 2, 'PKCS11_URI_INVALID', /pin-value/);
    // No module path (and no OCITRUST_PKCS11_MODULE).
    fails(await withPin(['key', 'add', 'pkcs11:token=ci;object=root']), 2, 'PKCS11_MODULE_MISSING', /module-path/);
    // ... which OCITRUST_PKCS11_MODULE supplies.
    ok(await run(['key', 'add', 'pkcs11:token=ci;object=root'], { OCITRUST_PKCS11_MODULE: SOFTHSM_MODULE }), 'module from the environment');
    // A module path that is no module.
    fails(await withPin(['key', 'add', 'pkcs11:token=ci;object=root?module-path=/nonexistent/libnothing.so']), 3, 'PKCS11_MODULE_LOAD_FAILED', /dpkg -L/);
    // A token that is not present.
    fails(await withPin(['key', 'add', hsm.uri('root', 'absent')]), 3, 'PKCS11_TOKEN_NOT_FOUND', /tokens present: "ci"/);
    // No such object.
    fails(await withPin(['key', 'add', hsm.uri('nothing-here')]), 2, 'PKCS11_OBJECT_NOT_FOUND', /object=/);
    // Generating over an existing label.
    fails(await withPin(['key', 'generate', 'dup', '--pkcs11', hsm.uri('root'), '--dir', work]), 2, 'PKCS11_OBJECT_EXISTS');
  });

  test('bad objects: a key of the wrong type, and a key the token refuses to sign with (nothing published)', async () => {
    // Objects made with the raw binding, as another tool would leave them in the token.
    process.env.SOFTHSM2_CONF = hsm.env.SOFTHSM2_CONF;
    const { openToken, login, closeAllModules } = await import('../../lib/keys/pkcs11/token.js');
    const { parsePkcs11Uri } = await import('../../lib/keys/pkcs11/uri.js');
    try {
      const t = await openToken(parsePkcs11Uri(hsm.uri('setup')));
      login(t, hsm.pin);
      const { p, lib, session } = t;
      const label = (l: string) => ({ type: p.CKA_LABEL, value: l });
      lib.C_GenerateKeyPair(session, { mechanism: p.CKM_RSA_PKCS_KEY_PAIR_GEN }, [label('rsa'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_MODULUS_BITS, value: 2048 }, { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }], [label('rsa'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_SIGN, value: true }]);
      lib.C_GenerateKeyPair(session, { mechanism: p.CKM_EC_KEY_PAIR_GEN }, [label('nosign'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }], [label('nosign'), { type: p.CKA_TOKEN, value: true }, { type: p.CKA_SIGN, value: false }, { type: p.CKA_PRIVATE, value: true }]);
    } finally {
      closeAllModules();
      delete process.env.SOFTHSM2_CONF;
    }
    fails(await run(['key', 'add', hsm.uri('rsa')]), 2, 'PKCS11_KEY_TYPE_UNSUPPORTED', /expected an ECDSA P-256 or Ed25519 key pair, got an RSA key/);
    const repo = `${embedded}/hsm/refused`;
    ok(await run(['init', repo]), 'init');
    ok(await run(['signer', 'add', '--key', hsm.uri('nosign'), 'nosign', repo]), 'its public key is fine');
    await push(repo, 'v1');
    fails(await withPin(['sign', '--key', hsm.uri('nosign'), `${repo}:v1`]), 2, 'PKCS11_MECHANISM_UNSUPPORTED', /CKR_KEY_FUNCTION_NOT_PERMITTED.*CKA_SIGN/);
    const v = await run(['verify', '-o', 'json', `${repo}:v1`]);
    assert.equal(v.code, 1, 'no signature was published');
  });
});
