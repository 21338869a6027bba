/**
 * The world of the trust-state attack tests: a real trust server behind a hostile front
 * ({@link startTrustFront}), Debian's docker-registry, and the real `trust` binary (the built
 * bundle) with its own home. `signedImage()` makes a collection with signer alice and a
 * signed image; `resurrect()` pushes a deleted signature back, as an attacker with registry
 * access can, so that only the signed revocation stands between it and "verified".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { CliSession, startTrustServer, type TestTrustServer, type TrustRun } from './cli.js';
import { startDistribution, type Distribution } from './distribution.js';
import { makeImage } from './oci-layout.js';
import { startTrustFront, type TrustFront } from './trust-front.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { listSignatures, signatureTag, updateFallbackIndex } from '../../lib/oci/referrers.js';
import { checkSignatureManifest, referrerDescriptor } from '../../lib/oci/signature-artifact.js';
import { emptyBlob, OCI_MANIFEST } from '../../lib/oci/types.js';

/** A signed image and how to put its signature back after a revocation deleted it. */
export interface SignedImage {
  readonly repo: string;
  /** `repo:v1` */
  readonly ref: string;
  readonly digest: string;
  /** Pushes the saved signature manifest and envelope again (registry attacker). */
  resurrect(): Promise<void>;
}

/** The running world. */
export interface SignedWorld {
  readonly ts: TestTrustServer;
  readonly reg: Distribution;
  readonly front: TrustFront;
  /** CLI session talking to the front, with an admin token. */
  readonly s: CliSession;
  readonly adminToken: string;
  /** Runs the shipped `trust` bundle in the session. */
  trust(args: readonly string[], env?: Record<string, string | undefined>): Promise<TrustRun>;
  signedImage(name: string): Promise<SignedImage>;
  /** Pushes an image as `<registry>/attack/<name>:v1` and nothing else (no collection, no signature). */
  unsignedImage(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Asserts exit 0 with the output in the message. */
export function ok(r: TrustRun, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
}

/** Starts the world (needs docker-registry and a built bundle: `npm run build`). */
export async function startSignedWorld(): Promise<SignedWorld> {
  const ts = await startTrustServer();
  const reg = await startDistribution();
  const front = await startTrustFront(ts.url);
  const adminToken = await ts.token();
  const s = new CliSession({ server: front.url, token: adminToken });
  const work = await mkdtemp(join(tmpdir(), 'ocitrust-attack-'));
  const client = new HttpRegistryClient({ credentials: anonymous });
  const trust = (args: readonly string[], env?: Record<string, string | undefined>) => s.run(args, { dist: true, ...(env ? { env } : {}) });
  ok(await trust(['key', 'generate', 'alice', '--dir', work]), 'key generate');
  return {
    ts,
    reg,
    front,
    s,
    adminToken,
    trust,
    async signedImage(name) {
      const repo = `${reg.host}/attack/${name}`;
      ok(await trust(['init', repo]), 'init');
      ok(await trust(['signer', 'add', '--key', join(work, 'alice.pub'), 'alice', repo]), 'signer add');
      const image = makeImage();
      const ref = { registry: reg.host, path: `attack/${name}` };
      for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
      await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
      ok(await trust(['sign', `${repo}:v1`]), 'sign');
      const [d] = (await listSignatures(client, ref, image.manifest.digest, { complete: true })).descriptors;
      const sig = await client.getManifest(ref, d!.digest);
      const layer = checkSignatureManifest(sig, image.manifest.digest);
      const envelope = await client.getBlob(ref, layer.digest, { size: layer.size });
      return {
        repo,
        ref: `${repo}:v1`,
        digest: image.manifest.digest,
        async resurrect() {
          await client.pushBlob(ref, emptyBlob());
          await client.pushBlob(ref, envelope);
          await client.putManifest(ref, sig.digest, sig.bytes, OCI_MANIFEST);
          await client.putManifest(ref, signatureTag(image.manifest.digest, sig.digest), sig.bytes, OCI_MANIFEST);
          await updateFallbackIndex(client, ref, image.manifest.digest, { add: [referrerDescriptor(sig)] });
        },
      };
    },
    async unsignedImage(name) {
      const image = makeImage();
      const ref = { registry: reg.host, path: `attack/${name}` };
      for (const b of image.blobs) await client.pushBlob(ref, b.bytes);
      await client.putManifest(ref, 'v1', image.manifest.bytes, OCI_MANIFEST);
      return `${reg.host}/attack/${name}:v1`;
    },
    async close() {
      await front.close();
      await reg.stop();
      await ts.close();
      s.cleanup();
      await rm(work, { recursive: true, force: true });
    },
  };
}
