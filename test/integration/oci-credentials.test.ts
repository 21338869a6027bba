// Docker config and credential helpers: real files in a temporary DOCKER_CONFIG and real
// helper processes (small shell scripts) on a private PATH.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigCredentials, runCredentialHelper } from '../../lib/oci/credentials.js';
import { isOcitrustError } from '../../lib/errors/index.js';

let dir: string;
let bin: string;
let env: NodeJS.ProcessEnv;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function helper(name: string, body: string): Promise<void> {
  const p = join(bin, `docker-credential-${name}`);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
}
async function config(doc: unknown): Promise<ReturnType<typeof dockerConfigCredentials>> {
  const d = await mkdtemp(join(dir, 'cfg-'));
  await writeFile(join(d, 'config.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
  return dockerConfigCredentials({ env: { ...env, DOCKER_CONFIG: d }, helperTimeoutMs: 1500 });
}

describe('docker credentials', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocitrust-creds-'));
    bin = join(dir, 'bin');
    await mkdir(bin);
    env = { PATH: `${bin}:${process.env.PATH}` };
    await helper('echo', 'read s; printf \'{"ServerURL":"%s","Username":"u-%s","Secret":"p"}\' "$s" "$s"');
    await helper('token', 'read s; printf \'{"Username":"<token>","Secret":"refresh-123"}\'');
    await helper('slow', 'sleep 5');
    await helper('junk', 'echo not json');
    await helper('huge', 'head -c 200000 /dev/zero');
    await helper('fail', 'echo boom >&2; exit 3');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads auths entries: base64 auth, username/password, identitytoken; matching by host', async () => {
    const c = await config({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
        'registry.example.com': { username: 'u', password: 'p' },
        'https://ghcr.io': { identitytoken: 'tok' },
        'localhost:5000': { auth: '' },
      },
    });
    assert.deepEqual(await c('docker.io'), { username: 'hub', password: 'pw:with:colons' });
    assert.deepEqual(await c('registry.example.com'), { username: 'u', password: 'p' });
    assert.deepEqual(await c('ghcr.io'), { identityToken: 'tok' });
    assert.equal(await c('localhost:5000'), undefined);
    assert.equal(await c('quay.io'), undefined);
  });

  it('credHelpers win over credsStore, which wins over auths', async () => {
    const c = await config({ credHelpers: { 'a.example': 'echo' }, credsStore: 'token', auths: { 'b.example': { auth: b64('x:y') } } });
    assert.deepEqual(await c('a.example'), { username: 'u-a.example', password: 'p' });
    assert.deepEqual(await c('b.example'), { identityToken: 'refresh-123' });
    const hub = await config({ credHelpers: { 'index.docker.io': 'echo' } });
    assert.deepEqual(await hub('docker.io'), { username: 'u-https://index.docker.io/v1/', password: 'p' }, 'Docker Hub is asked for by its v1 URL');
  });

  it('no config file means anonymous', async () => {
    const c = dockerConfigCredentials({ env: { DOCKER_CONFIG: join(dir, 'missing') } });
    assert.equal(await c('docker.io'), undefined);
  });

  it('a malformed config is DOCKER_CONFIG_INVALID', async () => {
    for (const doc of ['{', '[]', { auths: [] }, { auths: { h: { auth: 'bm9jb2xvbg==' } } }, { auths: { h: { auth: '***' } } }, { credsStore: 5 }, { credHelpers: { h: 1 } }]) {
      const c = await config(doc);
      await assert.rejects(c('h'), (e: unknown) => isOcitrustError(e, 'DOCKER_CONFIG_INVALID'), JSON.stringify(doc));
    }
  });

  it('a failing, slow, chatty or missing helper is CREDENTIAL_HELPER_FAILED, bounded in time', async () => {
    for (const name of ['junk', 'huge', 'fail', 'absent', '../evil']) {
      await assert.rejects(runCredentialHelper(name, 'h', { env }), (e: unknown) => isOcitrustError(e, 'CREDENTIAL_HELPER_FAILED'), name);
    }
    const t0 = Date.now();
    await assert.rejects(runCredentialHelper('slow', 'h', { env, timeoutMs: 300 }), (e: unknown) => isOcitrustError(e, 'CREDENTIAL_HELPER_FAILED'));
    assert.ok(Date.now() - t0 < 2000);
  });
});
