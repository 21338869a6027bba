// `trust server --proxy-upstream`: the real CLI process serving the verifying proxy in front of
// Debian's docker-registry, and `trust server token create --data D` writing into D.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution, type Distribution } from '../helpers/distribution.js';
import { makeImage, writeOciLayout, skopeoPush, missingPrograms } from '../helpers/oci-layout.js';
import { PROJECT_ROOT, runTrust } from '../helpers/cli.js';

const missing = missingPrograms('docker-registry', 'skopeo');
const skip = missing && process.env.CI !== 'true' ? missing : undefined;

describe('trust server --proxy-upstream', { skip }, () => {
  let reg: Distribution;
  let data: string;
  let proc: ChildProcess;
  let url: string;
  const image = makeImage();

  before(async () => {
    reg = await startDistribution();
    data = mkdtempSync(join(tmpdir(), 'ocitrust-proxy-cli-'));
    const layout = join(data, 'layout');
    await writeOciLayout(layout, [{ tag: 'v1', content: image }]);
    await skopeoPush(layout, 'v1', `${reg.host}/plain/app:v1`);
    proc = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'cli/main.ts'), 'server', '--data', join(data, 'server'), '--listen', '127.0.0.1:0', '--proxy-upstream', reg.url, '--log-level', 'error'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH!, HOME: data, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    url = await new Promise<string>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30_000);
      proc.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/[^\s]+)/.exec(err);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
      proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
    });
  });

  after(async () => {
    proc?.kill('SIGTERM');
    await reg?.stop();
    if (data) rmSync(data, { recursive: true, force: true });
  });

  it('passes an image of a repository without a trust collection through, byte for byte', async () => {
    const r = await fetch(`${url}/v2/plain/app/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(r.status, 200);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), image.manifest.bytes);
  });

  it('refuses --policy without --proxy-upstream as a usage error (exit 2)', async () => {
    const r = await runTrust(['server', '--policy', 'x.yaml', '--listen', '127.0.0.1:0'], { env: { HOME: data, OCITRUST_HOME: join(data, 'home') } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /need --proxy-upstream/);
  });

  it('token create --data D writes the token into D', async () => {
    const d = join(data, 'tokdata');
    const r = await runTrust(['server', 'token', 'create', '--role', 'reader', '--collections', '**', '--data', d], { env: { HOME: data, OCITRUST_HOME: join(data, 'home2') } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /\S{20,}/);
    assert.ok(existsSync(join(d, 'ocitrust.db')), 'database created in --data');
    assert.ok(!existsSync(join(data, 'home2', 'server')), 'nothing written under the home folder');
  });
});
