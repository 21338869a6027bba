// Issue 12 item 2 as a user meets it: `trust verify` against a trust server that serves targets
// metadata whose threshold-2 signer role lists one key under two keyids, for an image in a real
// registry carrying one signature by that key (the signature repeated under both keyids). Our
// own server refuses to publish such metadata (see keyid-aliasing.test.ts), so the server here
// is a hostile one: plain files over HTTP, validly signed by the collection's own keys. The
// verdict must be "not verified" (exit 1) naming METADATA_DUPLICATE_KEY, never exit 0.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { canonicalBytes } from '../../lib/crypto/canonical.js';
import { toHex } from '../../lib/crypto/hash.js';
import { PublicKey } from '../../lib/keys/key.js';
import type { LocalSigner as SeedSigner } from '../../lib/keys/signer.js';
import { MetaFile } from '../../lib/metadata/meta-file.js';
import { bumpVersion } from '../../lib/metadata/builders.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { pushSignature } from '../../lib/oci/referrers.js';
import { OCI_MANIFEST } from '../../lib/oci/types.js';
import { parseReference } from '../../lib/reference.js';
import { envelopeToJSON } from '../../lib/statements/dsse.js';
import { signStatement } from '../../lib/statements/sign.js';
import { buildSignatureStatement } from '../../lib/statements/statement.js';
import { buildCollection, signMetadata, toBytes, type TestCollection } from '../helpers/collection.js';
import { CliSession, failureCodes } from '../helpers/cli.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { makeImage } from '../helpers/oci-layout.js';

function alias(key: PublicKey): PublicKey {
  return PublicKey.fromJSON({ ...key.toJSON(), keyid_hash_algorithms: ['sha256', 'sha512'] });
}

describe('attack: trust verify with one key under two keyids in a threshold-2 role (issue 12 item 2)', () => {
  let reg: EmbeddedRegistry;
  let tuf: Server;
  let base: string;
  let c: TestCollection;
  let s: CliSession;
  let work: string;

  before(async () => {
    reg = await startEmbeddedRegistry();
    const repo = `${reg.host}/alias/app`;
    // Metadata is built against the real clock: the CLI reads the system time.
    c = await buildCollection({ collection: repo, signers: [{ name: 'releases' }], clock: systemClock });
    const signer: SeedSigner = c.signer('releases');
    const sAlias = alias(signer.publicKey);

    // targets v2: `releases` lists the one key twice and asks for 2 signatures; signed by the
    // targets key, with a consistent snapshot and timestamp.
    const tk = c.keys.targets[0]!;
    const doc = c.json('1.targets.json');
    doc.signed.version = 2;
    doc.signed.delegations.keys[sAlias.keyid] = sAlias.toJSON();
    doc.signed.delegations.roles[0].keyids = [signer.keyid, sAlias.keyid];
    doc.signed.delegations.roles[0].threshold = 2;
    doc.signatures = [{ keyid: tk.keyid, sig: toHex(tk.signSync(canonicalBytes(doc.signed))) }];
    c.put('2.targets.json', toBytes(doc));
    const snap = bumpVersion(c.snapshot.signed.withTargetsMeta(MetaFile.forBytes(2, c.file('2.targets.json'))), { clock: systemClock });
    c.snapshot = await signMetadata(snap, c.keys.snapshot);
    c.files.set(`${snap.version}.snapshot.json`, c.snapshot.toBytes());
    await c.publishTimestamp();

    // The image, and one signature by the one key, listed under both keyids.
    const client = new HttpRegistryClient({ plainHttp: true });
    const ref = parseReference(`${repo}:v1`);
    const image = makeImage();
    for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
    await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
    const statement = buildSignatureStatement({ repository: repo, digest: image.manifest.digest, tag: 'v1', mediaType: OCI_MANIFEST, size: image.manifest.size, role: 'releases', signedAt: new Date() });
    const env = envelopeToJSON(await signStatement(statement, [signer]));
    const doubled = { ...env, signatures: [env.signatures[0]!, { ...env.signatures[0]!, keyid: sAlias.keyid }] };
    await pushSignature(client, ref, { mediaType: OCI_MANIFEST, digest: image.manifest.digest, size: image.manifest.size }, canonicalBytes(doubled));

    // The hostile trust server: the collection's files under /v1/collections/<name>/<file>.
    tuf = createServer((req, res) => {
      const file = decodeURIComponent((req.url ?? '').split('?')[0]!.split('/').pop() ?? '');
      const bytes = c.files.get(file);
      if (!bytes) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"METADATA_NOT_FOUND","message":"no such file"}');
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length) }).end(Buffer.from(bytes));
    });
    await new Promise<void>((r) => tuf.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(tuf.address() as AddressInfo).port}`;
    work = mkdtempSync(join(tmpdir(), 'ocitrust-alias-'));
    writeFileSync(join(work, 'root.json'), c.rootBytes(1));
    s = new CliSession({ server: base });
  });

  after(async () => {
    s?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
    if (tuf) {
      tuf.closeAllConnections();
      await new Promise<void>((r) => tuf.close(() => r()));
    }
    await reg?.close();
  });

  it('is not verified (exit 1, METADATA_DUPLICATE_KEY)', async () => {
    const run = await s.run(['verify', '-o', 'json', '--root', join(work, 'root.json'), `${c.collection}:v1`]);
    assert.equal(run.code, 1, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    assert.equal(JSON.parse(run.stdout).results[0].verified, false);
    assert.ok(failureCodes(run).includes('METADATA_DUPLICATE_KEY'), run.stdout);
  });
});
