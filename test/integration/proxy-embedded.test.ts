// The same pull enforcement as a setting of the embedded registry (its beforeManifestGet
// gate), on a trust server listening for real: repositories with a trust collection are
// enforced, others are not; skopeo sees the reason of a refusal; a publisher of the collection
// (authenticated by the registry with the server's tokens) may read unsigned manifests to sign
// them; a signature pushed to the embedded registry makes the image pullable; removing the
// signer refuses it again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { registryEnforcement, type RegistryEnforcement } from '../../server/proxy/embedded.js';
import { makeImage, missingPrograms, runSkopeo, skopeoPush, writeOciLayout } from '../helpers/oci-layout.js';
import { publishCollection, sign, type PublishedCollection } from '../helpers/proxy.js';
import { TEST_SCRYPT, TEST_SECRET, tokenFor } from '../helpers/trust-server.js';

const skip = missingPrograms('skopeo');
/** The name trust data gives this registry (its public address in production). */
const NAME = 'registry.test';

describe('pull enforcement in the embedded registry', { skip }, () => {
  let dir: string;
  let server: RunningServer;
  let enforcement: RegistryEnforcement;
  let host: string;
  let publisher: string;
  let reader: string;
  let coll: PublishedCollection;

  async function pull(ref: string, creds?: string): Promise<{ code: number | null; stderr: string }> {
    const args = ['copy', '--src-tls-verify=false', ...(creds ? ['--src-creds', creds] : []), `docker://${host}/${ref}`, `oci:${join(dir, `out-${Math.random().toString(36).slice(2)}`)}:x`];
    return runSkopeo(args);
  }

  /** A client that names `registry.test` but talks to this server, sending the publisher token up front. */
  function signerClient(): HttpRegistryClient {
    const basic = 'Basic ' + Buffer.from(`ci:${publisher}`).toString('base64');
    return new HttpRegistryClient({
      credentials: anonymous,
      plainHttp: [NAME],
      fetch: (input, init) => {
        const u = new URL(String(input));
        if (u.host === NAME) u.host = host;
        const headers = new Headers(init?.headers);
        headers.set('authorization', basic);
        return fetch(u, { ...init, headers });
      },
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocitrust-embedded-enforce-'));
    const dataDir = join(dir, 'data');
    enforcement = registryEnforcement({ registryName: NAME, registryDataDir: join(dataDir, 'registry') });
    server = await startServer({
      dataDir,
      port: 0,
      secret: TEST_SECRET,
      scrypt: TEST_SCRYPT,
      logger: false,
      handleSignals: false,
      resignIntervalMs: 0,
      auditPruneIntervalMs: 0,
      cacheTtlMs: 0,
      plugins: [enforcement.plugin],
      registryOptions: { registryName: NAME, beforeManifestGet: enforcement.beforeManifestGet },
    });
    host = new URL(server.url).host;
    publisher = await tokenFor(server.app, 'publisher', [`${NAME}/team/*`, `${NAME}/other/*`], 'ci');
    reader = await tokenFor(server.app, 'reader', ['**'], 'viewer');
    coll = await publishCollection(server.app, `${NAME}/team/app`, ['alice']);
    const src = join(dir, 'src');
    await writeOciLayout(src, [
      { tag: 'a', content: makeImage() },
      { tag: 'b', content: makeImage() },
    ]);
    await skopeoPush(src, 'a', `${host}/team/app:v1`, `ci:${publisher}`);
    await skopeoPush(src, 'b', `${host}/other/app:v1`, `ci:${publisher}`);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the unsigned image of an enforced repository with the reason, passes other repositories', async () => {
    const r = await pull('team/app:v1');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /denied/i);
    assert.match(r.stderr, /NO_SIGNATURES/);
    assert.equal((await pull('team/app:v1', `viewer:${reader}`)).code, 1, 'a reader token grants nothing more');
    assert.equal((await pull('other/app:v1')).code, 0);
  });

  it('lets a publisher of the collection read the unsigned image (to sign it), audited', async () => {
    const r = await pull('team/app:v1', `ci:${publisher}`);
    assert.equal(r.code, 0, r.stderr);
    const bypass = (await server.app.ocitrust.audit.query({ actor: 'ci' })).entries.filter((e) => e.action === 'registry.bypass');
    assert.ok(bypass.length > 0);
    assert.equal(bypass[0]!.collection, `${NAME}/team/app`);
  });

  it('serves the image once it is signed, and refuses it again when the signer is removed', async () => {
    await sign(`${NAME}/team/app:v1`, coll.signers.get('alice')!, 'alice', signerClient());
    const ok = await pull('team/app:v1');
    assert.equal(ok.code, 0, ok.stderr);
    await coll.removeSigner('alice');
    const r = await pull('team/app:v1');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /SIG_(KEY_NOT_DELEGATED|ROLE_UNKNOWN|KEY_NOT_IN_ROLE)/);
    assert.ok(enforcement.enforcer!.stats.verifications >= 2);
  });
});
