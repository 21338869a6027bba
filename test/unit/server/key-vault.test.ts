import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOcitrustError } from '../../../lib/errors/index.js';
import { randomSecretSeed } from '../../../lib/crypto/ed25519.js';
import { SeedSigner } from '../../../lib/keys/signer.js';
import { KeyVault } from '../../../server/key-vault.js';
import { loadServerSecret, SECRET_FILE } from '../../../server/secret.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const CHEAP = { N: 1024, r: 8, p: 1 };

describe('server/key-vault', () => {
  describe('KeyVault', () => {
    it('round-trips a seed bound to its collection and role', () => {
      const v = KeyVault.create(SECRET, CHEAP);
      const seed = randomSecretSeed();
      const sealed = v.sealSeed(seed, 'reg/app', 'snapshot');
      assert.ok(!sealed.includes(Buffer.from(seed).toString('base64')), 'plaintext seed must not appear');
      assert.equal(v.openSigner(sealed, 'reg/app', 'snapshot').keyid, new SeedSigner(seed).keyid);
    });

    it('refuses a sealed key moved to another collection or role (SERVER_KEY_UNREADABLE)', () => {
      const v = KeyVault.create(SECRET, CHEAP);
      const sealed = v.sealSeed(randomSecretSeed(), 'reg/app', 'snapshot');
      assert.throws(() => v.openSigner(sealed, 'reg/other', 'snapshot'), (e) => isOcitrustError(e, 'SERVER_KEY_UNREADABLE'));
      assert.throws(() => v.openSigner(sealed, 'reg/app', 'timestamp'), (e) => isOcitrustError(e, 'SERVER_KEY_UNREADABLE'));
      const tampered = JSON.parse(sealed);
      tampered.ct = Buffer.from(Buffer.from(tampered.ct, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64');
      assert.throws(() => v.openSigner(JSON.stringify(tampered), 'reg/app', 'snapshot'), (e) => isOcitrustError(e, 'SERVER_KEY_UNREADABLE'));
      assert.throws(() => v.open('not json', 'x'), (e) => isOcitrustError(e, 'SERVER_KEY_UNREADABLE'));
    });

    it('opens with the same secret and refuses another one (SERVER_SECRET_INVALID)', () => {
      const v = KeyVault.create(SECRET, CHEAP);
      const sealed = v.sealSeed(randomSecretSeed(), 'a', 'timestamp');
      const again = KeyVault.open(SECRET, v.params);
      assert.ok(again.openSigner(sealed, 'a', 'timestamp'));
      assert.throws(() => KeyVault.open(SECRET + 'x', v.params), (e) => isOcitrustError(e, 'SERVER_SECRET_INVALID'));
      assert.throws(() => KeyVault.open(SECRET, { ...v.params, N: 3 }), (e) => isOcitrustError(e, 'SERVER_SECRET_INVALID'));
      assert.throws(() => KeyVault.open(SECRET, null), (e) => isOcitrustError(e, 'SERVER_SECRET_INVALID'));
    });
  });

  describe('#loadServerSecret', () => {
    it('prefers the option, then OCITRUST_SERVER_SECRET, then a generated 0600 file that is reused', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ocitrust-secret-'));
      try {
        assert.equal(loadServerSecret({ secret: SECRET, dataDir: dir, env: {} }), SECRET);
        assert.equal(loadServerSecret({ dataDir: dir, env: { OCITRUST_SERVER_SECRET: SECRET } }), SECRET);
        const gen = loadServerSecret({ dataDir: dir, env: {} });
        assert.match(gen, /^[0-9a-f]{64}$/);
        assert.equal(statSync(join(dir, SECRET_FILE)).mode & 0o777, 0o600);
        assert.equal(readFileSync(join(dir, SECRET_FILE), 'utf8').trim(), gen);
        assert.equal(loadServerSecret({ dataDir: dir, env: {} }), gen);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses short secrets and secret files readable by others', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ocitrust-secret-'));
      try {
        assert.throws(() => loadServerSecret({ secret: 'short', env: {} }), (e) => isOcitrustError(e, 'SERVER_SECRET_INVALID'));
        assert.throws(() => loadServerSecret({ env: {} }), (e) => isOcitrustError(e, 'SERVER_SECRET_INVALID'));
        writeFileSync(join(dir, SECRET_FILE), SECRET);
        chmodSync(join(dir, SECRET_FILE), 0o644);
        assert.throws(() => loadServerSecret({ dataDir: dir, env: {} }), (e) => isOcitrustError(e, 'SERVER_SECRET_INVALID') && /chmod 600/.test(e.message));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
