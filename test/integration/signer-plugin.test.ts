// The signer plugin protocol (docs/signer-plugins.md) against a real executable on PATH
// (test/fixtures/signer-plugin/ocitrust-signer-test): describe-key and sign for Ed25519 and
// ECDSA P-256 (DER and raw r||s answers), and every way a plugin can misbehave — missing,
// crashing, hanging, answering garbage or too much, another protocol, an error, signing with
// another key — a coded error, and never a signature that does not verify.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describePluginKey, openPluginSigner, parsePluginRef } from '../../lib/keys/plugin.js';
import { openExternalSigner } from '../../lib/keys/external.js';
import { ecdsaSignatureValues } from '../../lib/crypto/ecdsa-p256.js';
import { isOcitrustError, type ErrorCode } from '../../lib/errors/index.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'signer-plugin');

async function rejectsCode(p: Promise<unknown>, code: ErrorCode, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isOcitrustError(e), `expected OcitrustError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

describe('signer plugins (ocitrust-signer/v1)', () => {
  let keys: string;
  let env: NodeJS.ProcessEnv;
  const msg = new TextEncoder().encode('payload to sign');

  before(() => {
    keys = mkdtempSync(join(tmpdir(), 'ocitrust-plugin-keys-'));
    for (const [name, type] of [['ed', 'ed25519'], ['ec', 'ec'], ['other', 'ec']] as const) {
      const { privateKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(join(keys, `${name}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    }
    env = { PATH: `${FIXTURES}${delimiter}${process.env.PATH ?? ''}`, OCITRUST_TEST_PLUGIN_KEYS: keys };
  });
  after(() => rmSync(keys, { recursive: true, force: true }));

  it('describes the key and signs with Ed25519 and ECDSA P-256; signatures verify', async () => {
    for (const k of ['ed', 'ec']) {
      const d = await describePluginKey(`plugin:test:ok:${k}`, { env });
      assert.equal(d.algorithm, k === 'ed' ? 'ed25519' : 'ecdsa-p256');
      const s = await openPluginSigner(`plugin:test:ok:${k}`, { env });
      assert.equal(s.keyid, d.publicKey.keyid);
      const sig = await s.sign(msg);
      assert.ok(s.publicKey.verify(sig, msg));
    }
  });

  it('normalizes a raw r||s ECDSA answer to DER, as ocitrust signs', async () => {
    const s = await openPluginSigner('plugin:test:raw:ec', { env });
    const sig = await s.sign(msg);
    assert.notEqual(ecdsaSignatureValues(sig, 'der'), null, 'DER');
    assert.ok(s.publicKey.verify(sig, msg));
  });

  it('refuses a signature made with another key: SIGNATURE_UNVERIFIED, nothing returned', async () => {
    const s = await openPluginSigner('plugin:test:wrongkey:ec', { env });
    await rejectsCode(s.sign(msg), 'SIGNATURE_UNVERIFIED', /does not verify with the key it described/);
  });

  it('a missing plugin is PLUGIN_NOT_FOUND naming the executable', async () => {
    await rejectsCode(describePluginKey('plugin:nosuch:k', { env }), 'PLUGIN_NOT_FOUND', /ocitrust-signer-nosuch/);
    // A relative PATH entry is never searched (it would run whatever the working folder holds).
    await rejectsCode(describePluginKey('plugin:test:ok:ed', { env: { ...env, PATH: 'test/fixtures/signer-plugin' } }), 'PLUGIN_NOT_FOUND');
  });

  it('a crash is PLUGIN_FAILED with the exit status', async () => {
    await rejectsCode(describePluginKey('plugin:test:crash:ed', { env }), 'PLUGIN_FAILED', /exit status 70/);
  });

  it('a plugin error is PLUGIN_FAILED quoting its code and message', async () => {
    await rejectsCode(describePluginKey('plugin:test:refuse:ed', { env }), 'PLUGIN_FAILED', /PERMISSION_DENIED: the test KMS refuses this key/);
  });

  it('a hang is stopped at the time limit: PLUGIN_TIMEOUT', async () => {
    await rejectsCode(describePluginKey('plugin:test:hang:ed', { env, timeoutMs: 500 }), 'PLUGIN_TIMEOUT', /no answer within 0.5 s/);
    await rejectsCode(describePluginKey('plugin:test:hang:ed', { env: { ...env, OCITRUST_PLUGIN_TIMEOUT: '1' } }), 'PLUGIN_TIMEOUT', /within 1 s/);
  });

  it('garbage, a flood and another protocol version are PLUGIN_RESPONSE_INVALID', async () => {
    await rejectsCode(describePluginKey('plugin:test:garbage:ed', { env }), 'PLUGIN_RESPONSE_INVALID', /one JSON object/);
    await rejectsCode(describePluginKey('plugin:test:flood:ed', { env }), 'PLUGIN_RESPONSE_INVALID', /at most 65536 bytes/);
    await rejectsCode(describePluginKey('plugin:test:oldproto:ed', { env }), 'PLUGIN_RESPONSE_INVALID', /ocitrust-signer\/v1/);
  });

  it("never hands ocitrust's own secrets (passphrases, token, PIN) to a plugin", async () => {
    const secrets = { OCITRUST_PASSPHRASE: 'p', OCITRUST_ROOT_PASSPHRASE: 'r', OCITRUST_TOKEN: 't', OCITRUST_PKCS11_PIN: '1', OCITRUST_PLUGIN_TIMEOUT: '20' };
    await rejectsCode(describePluginKey('plugin:test:env:ed', { env: { ...env, ...secrets } }), 'PLUGIN_FAILED', /ENV: OCITRUST_PLUGIN_TIMEOUT,OCITRUST_TEST_PLUGIN_KEYS$/);
  });

  it('malformed references are KEY_REFERENCE_INVALID', async () => {
    for (const r of ['plugin:', 'plugin:Bad:k', 'plugin:test:', 'plugin:test', 'plugin:../x:k', `plugin:test:${'k'.repeat(2000)}`, 'plugin:test:a\nb']) {
      assert.throws(() => parsePluginRef(r), (e) => isOcitrustError(e, 'KEY_REFERENCE_INVALID'), r);
    }
    await rejectsCode(openExternalSigner('vault:k', { env }), 'KEY_REFERENCE_INVALID');
  });
});
