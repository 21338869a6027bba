// Notary trust dir keys (encrypted PKCS#8 with role/gun headers, as notary writes them) and the
// notaryV1 rule block's validation. The real notary client's files are read in
// test/integration/notary-import.test.ts; here node:crypto writes the same format.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OcitrustError } from '../../../lib/errors/index.js';
import { decryptNotaryKey, listNotaryKeyFiles } from '../../../lib/notary/trust-dir.js';
import { notaryV1Scheme } from '../../../lib/notary/scheme.js';
import { PublicKey } from '../../../lib/keys/key.js';

const code = (c: string) => (e: unknown) => e instanceof OcitrustError && e.code === c;

function notaryKeyFile(headers: string[], pass = 'pw'): { pem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const enc = privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: pass }).toString();
  const lines = enc.trim().split('\n');
  return { pem: [lines[0], ...headers, '', ...lines.slice(1)].join('\n') + '\n', fingerprint: PublicKey.fromEcdsaP256(publicKey).fingerprint };
}

describe('Notary trust dir keys', () => {
  it('reads role and gun headers, decrypts with the passphrase, matches by fingerprint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-notary-keys-'));
    mkdirSync(join(dir, 'private'));
    const a = notaryKeyFile(['role: targets/alice']);
    const t = notaryKeyFile(['gun: registry.example.com/app', 'role: targets']);
    writeFileSync(join(dir, 'private', 'a.key'), a.pem);
    writeFileSync(join(dir, 'private', 't.key'), t.pem);
    const files = await listNotaryKeyFiles(dir);
    assert.deepEqual(files.map((f) => [f.file, f.role, f.gun]), [['private/a.key', 'targets/alice', undefined], ['private/t.key', 'targets', 'registry.example.com/app']]);
    assert.equal(decryptNotaryKey(files[0]!, 'pw').fingerprint, a.fingerprint);
    assert.throws(() => decryptNotaryKey(files[0]!, 'wrong'), code('KEY_PASSPHRASE_WRONG'));
  });

  it('a damaged file is PEM_MALFORMED, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocitrust-notary-keys-'));
    mkdirSync(join(dir, 'private'));
    writeFileSync(join(dir, 'private', 'x.key'), 'garbage');
    await assert.rejects(listNotaryKeyFiles(dir), (e) => code('PEM_MALFORMED')(e) && /private\/x\.key/.test((e as Error).message));
    writeFileSync(join(dir, 'private', 'x.key'), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: a\n\nMIIBAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n');
    const [f] = await listNotaryKeyFiles(dir);
    assert.throws(() => decryptNotaryKey(f!, 'pw'), code('PEM_MALFORMED'));
  });
});

describe('notaryV1 rule block', () => {
  const validate = (raw: unknown) => {
    const problems: string[] = [];
    const c = notaryV1Scheme.validate(raw, '/rules/0/notaryV1', { add: (p) => problems.push(p) });
    return { c, problems };
  };
  it('defaults requiredDelegations to targets/releases and names short delegations in full', () => {
    assert.deepEqual(validate({ server: 'https://n.example.com', root: 'r.crt' }).c?.requiredDelegations, ['targets/releases']);
    assert.deepEqual(validate({ server: 'https://n.example.com', root: 'r.crt', requiredDelegations: ['releases', 'alice', 'targets'] }).c?.requiredDelegations, ['targets/releases', 'targets/alice', 'targets']);
  });
  it('requires a pinned root and a server URL; refuses unknown keys', () => {
    assert.deepEqual(validate({ server: 'https://n.example.com' }).problems, ['/rules/0/notaryV1/root']);
    assert.deepEqual(validate({ root: 'r.crt', server: 'notary' }).problems, ['/rules/0/notaryV1/server']);
    assert.deepEqual(validate({ root: 'r.crt', server: 'https://n', rot: 1 }).problems, ['/rules/0/notaryV1/rot']);
    assert.deepEqual(validate({ root: 'r.crt', server: 'https://n', requiredDelegations: [] }).problems, ['/rules/0/notaryV1/requiredDelegations']);
    assert.deepEqual(validate('x').problems, ['/rules/0/notaryV1']);
  });
  it('resolves the root and ca paths and names them as the revision\'s files', () => {
    const c = notaryV1Scheme.resolvePaths({ server: 'https://n', root: 'r.crt', ca: 'ca.pem', requiredDelegations: ['targets/releases'] }, (p) => `/etc/policy/${p}`);
    assert.deepEqual(notaryV1Scheme.files(c), ['/etc/policy/r.crt', '/etc/policy/ca.pem']);
  });
});
