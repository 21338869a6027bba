// The registry client suite against real registries. Today: Debian's docker-registry
// (Docker distribution 2.8.2, no referrers API, so the tag-schema fallback runs for real).
// The embedded registry (server/registry) joins by adding a factory to REGISTRIES.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startDistribution } from '../helpers/distribution.js';
import { startEmbeddedRegistry } from '../helpers/embedded-registry.js';
import {
  makeImage,
  makeIndex,
  writeOciLayout,
  skopeoPush,
  skopeoPull,
  missingPrograms,
  allBlobs,
  type TestImage,
  type TestIndex,
} from '../helpers/oci-layout.js';
import { HttpRegistryClient } from '../../lib/oci/client.js';
import { anonymous } from '../../lib/oci/credentials.js';
import { listSignatures, pushSignature, repairIndex, fallbackTag } from '../../lib/oci/referrers.js';
import { collectEnvelopes } from '../../lib/oci/signature-artifact.js';
import { isIndex, OCI_INDEX, OCI_MANIFEST, SIGNATURE_ARTIFACT_TYPE, emptyBlob, parseImageIndex, type Descriptor } from '../../lib/oci/types.js';
import { digestOf } from '../../lib/crypto/hash.js';
import { isOcitrustError } from '../../lib/errors/index.js';
import { parseReference } from '../../lib/reference.js';

/** A registry under test. */
interface RegistryUnderTest {
  readonly host: string;
  /** Whether the registry serves the referrers API (and answers OCI-Subject). */
  readonly referrersApi: boolean;
  /** Runs the registry's garbage collector deleting untagged manifests, when it has one. */
  readonly gcUntagged?: () => Promise<unknown>;
  stop(): Promise<void>;
}

interface RegistryFactory {
  readonly name: string;
  readonly programs: readonly string[];
  start(): Promise<RegistryUnderTest>;
}

const REGISTRIES: RegistryFactory[] = [
  {
    name: 'distribution 2.8.2 (docker-registry)',
    programs: ['docker-registry'],
    async start() {
      const d = await startDistribution();
      return { host: d.host, referrersApi: false, gcUntagged: () => d.garbageCollect({ deleteUntagged: true }), stop: () => d.stop() };
    },
  },
  {
    name: 'ocitrust embedded registry (referrers API)',
    programs: [],
    async start() {
      const r = await startEmbeddedRegistry();
      return { host: r.host, referrersApi: true, stop: () => r.close() };
    },
  },
];

const envelope = (i: number | string): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(`statement ${i}`).toString('base64'), signatures: [{ keyid: 'k', sig: 'AAAA' }] }));

for (const factory of REGISTRIES) {
  const skip = missingPrograms(...factory.programs, 'skopeo');
  describe(`registry client on ${factory.name}`, { skip }, () => {
    let reg: RegistryUnderTest;
    let layout: string;
    let requests = 0;
    const image: TestImage = makeImage();
    const multi: TestIndex = makeIndex();
    const client = new HttpRegistryClient({
      credentials: anonymous,
      fetch: (u, i) => {
        requests++;
        return fetch(u, i);
      },
    });
    const repo = () => ({ registry: reg.host, path: 'ocitrust/app' });

    before(async () => {
      reg = await factory.start();
      layout = await mkdtemp(join(tmpdir(), 'ocitrust-layout-'));
      await writeOciLayout(layout, [
        { tag: 'single', content: image },
        { tag: 'multi', content: multi },
      ]);
      await skopeoPush(layout, 'single', `${reg.host}/ocitrust/app:v1`);
      await skopeoPush(layout, 'multi', `${reg.host}/ocitrust/app:multi`);
    });
    after(async () => {
      await reg?.stop();
      if (layout) await rm(layout, { recursive: true, force: true });
    });

    describe('images pushed by skopeo', () => {
      it('resolves the tag to the digest skopeo pushed, computed from the bytes', async () => {
        const ref = parseReference(`${reg.host}/ocitrust/app:v1`);
        const m = await client.getManifest(ref, ref.tag!);
        assert.equal(m.digest, image.manifest.digest);
        assert.deepEqual(Buffer.from(m.bytes), Buffer.from(image.manifest.bytes));
        assert.equal(m.mediaType, OCI_MANIFEST);
        const byDigest = await client.getManifest(repo(), image.manifest.digest);
        assert.equal(byDigest.digest, image.manifest.digest);
        const head = await client.headManifest(repo(), 'v1');
        assert.equal(head?.size, image.manifest.size);
        assert.equal(await client.headManifest(repo(), 'nope'), undefined);
      });
      it('reads the two-platform index and every child manifest and blob, digests equal', async () => {
        const m = await client.getManifest(repo(), 'multi');
        assert.equal(m.digest, multi.index.digest);
        assert.ok(isIndex(m.manifest));
        assert.deepEqual(m.manifest.manifests.map((d) => d.platform?.architecture), ['amd64', 'arm64']);
        for (const [i, child] of m.manifest.manifests.entries()) {
          const cm = await client.getManifest(repo(), child.digest);
          assert.equal(cm.digest, multi.images[i]!.manifest.digest);
          assert.ok(!isIndex(cm.manifest));
          for (const d of [cm.manifest.config, ...cm.manifest.layers]) {
            const b = await client.getBlob(repo(), d.digest, { size: d.size });
            assert.equal(digestOf(b), d.digest);
          }
        }
        assert.equal(await client.headBlob(repo(), image.layers[0]!.digest), image.layers[0]!.size);
        assert.equal(await client.headBlob(repo(), digestOf(randomBytes(8))), undefined);
      });
      it('a missing manifest or blob is a coded error', async () => {
        await assert.rejects(client.getManifest(repo(), 'no-such-tag'), (e: unknown) => isOcitrustError(e, 'MANIFEST_NOT_FOUND'));
        await assert.rejects(client.getManifest({ registry: reg.host, path: 'no/such/repo' }, 'v1'), (e: unknown) => isOcitrustError(e, 'MANIFEST_NOT_FOUND'));
        await assert.rejects(client.getBlob(repo(), digestOf(randomBytes(8))), (e: unknown) => isOcitrustError(e, 'BLOB_NOT_FOUND'));
      });
    });

    describe('writing', () => {
      it('pushes blobs monolithically and in chunks, mounts across repositories, and reads them back', async () => {
        const a = new Uint8Array(randomBytes(300_000));
        const b = new Uint8Array(randomBytes(100_000));
        assert.equal((await client.pushBlob(repo(), a)).how, 'uploaded');
        assert.equal((await client.pushBlob(repo(), a)).how, 'exists');
        assert.equal((await client.pushBlob(repo(), b, { chunkSize: 32 * 1024 })).how, 'uploaded');
        assert.deepEqual(Buffer.from(await client.getBlob(repo(), digestOf(a))), Buffer.from(a));
        assert.deepEqual(Buffer.from(await client.getBlob(repo(), digestOf(b), { size: b.length })), Buffer.from(b));
        const other = { registry: reg.host, path: 'ocitrust/other' };
        assert.equal(await client.mountBlob(other, 'ocitrust/app', digestOf(b)), true);
        assert.equal(await client.headBlob(other, digestOf(b)), b.length);
        const c = new Uint8Array(randomBytes(1000));
        assert.equal((await client.pushBlob(other, c, { mountFrom: 'ocitrust/app' })).how, 'uploaded', 'mount declined, upload continued');
        assert.equal(await client.mountBlob(other, 'ocitrust/app', digestOf(randomBytes(4))), false);
      });
      it('puts manifests by tag and digest, lists tags, deletes by digest', async () => {
        const im = makeImage();
        const r = { registry: reg.host, path: 'ocitrust/write' };
        for (const b of im.blobs) await client.pushBlob(r, b.bytes);
        const put = await client.putManifest(r, 'w1', im.manifest.bytes, OCI_MANIFEST);
        assert.equal(put.digest, im.manifest.digest);
        await client.putManifest(r, im.manifest.digest, im.manifest.bytes, OCI_MANIFEST);
        assert.deepEqual(await client.listTags(r), ['w1']);
        assert.deepEqual(await client.listTags({ registry: reg.host, path: 'never/pushed' }), []);
        assert.equal(await client.deleteManifest(r, im.manifest.digest), true);
        await assert.rejects(client.getManifest(r, 'w1'), (e: unknown) => isOcitrustError(e, 'MANIFEST_NOT_FOUND'));
        assert.equal(await client.deleteManifest(r, im.manifest.digest), false);
      });
      it('pulls back out of the registry with skopeo byte for byte', async () => {
        const out = await mkdtemp(join(tmpdir(), 'ocitrust-pull-'));
        try {
          await skopeoPull(`${reg.host}/ocitrust/app:multi`, out, 'multi');
          for (const b of allBlobs(multi)) {
            const got = await readFile(join(out, 'blobs', 'sha256', b.digest.slice(7)));
            assert.deepEqual(got, Buffer.from(b.bytes), b.digest);
          }
        } finally {
          await rm(out, { recursive: true, force: true });
        }
      });
    });

    describe('signatures', () => {
      const subject = (): Descriptor => ({ mediaType: OCI_MANIFEST, digest: image.manifest.digest, size: image.manifest.size });

      it('pushes a signature and discovers it with one listing call, envelope from the annotation', async () => {
        const r = await pushSignature(client, repo(), subject(), envelope('one'));
        assert.equal(r.mode, reg.referrersApi ? 'api' : 'fallback');
        assert.equal(r.indexUpdated, true);
        requests = 0;
        const tagged = await client.getManifest(repo(), 'v1');
        const listing = await listSignatures(client, repo(), tagged.digest);
        const { envelopes, dropped } = await collectEnvelopes(client, repo(), tagged.digest, listing.descriptors);
        assert.deepEqual(dropped, []);
        assert.deepEqual(envelopes.map((e) => Buffer.from(e.envelope).toString()), [Buffer.from(envelope('one')).toString()]);
        assert.equal(requests, reg.referrersApi ? 2 : 3, 'tag → digest, referrers (+ fallback index)');
        const fromLayer = await collectEnvelopes(client, repo(), tagged.digest, listing.descriptors, { preferLayer: true });
        assert.deepEqual(fromLayer.envelopes.map((e) => e.source), ['layer']);
        if (!reg.referrersApi) {
          const idx = parseImageIndex((await client.getManifest(repo(), fallbackTag(tagged.digest))).bytes);
          assert.equal(idx.mediaType, OCI_INDEX);
          assert.equal(idx.manifests[0]!.artifactType, SIGNATURE_ARTIFACT_TYPE);
        }
      });

      it('a blob pushed or seen once is not asked about again; fresh bytes skip the existence check', async () => {
        const methods: string[] = [];
        const c = new HttpRegistryClient({ credentials: anonymous, fetch: (u, i) => (methods.push(i.method ?? 'GET'), fetch(u, i)) });
        const bytes = new TextEncoder().encode(`blob ${Math.random()}`);
        assert.equal((await c.pushBlob(repo(), bytes)).how, 'uploaded');
        assert.equal(methods.filter((m) => m === 'HEAD').length, 1);
        methods.length = 0;
        assert.equal((await c.pushBlob(repo(), bytes)).how, 'exists');
        assert.equal(methods.length, 0, 'known to this client: no request');
        const other = new HttpRegistryClient({ credentials: anonymous, fetch: (u, i) => (methods.push(i.method ?? 'GET'), fetch(u, i)) });
        assert.equal((await other.pushBlob(repo(), bytes)).how, 'exists', 'another client asks the registry');
        assert.deepEqual(methods, ['HEAD']);
        methods.length = 0;
        const fresh = new TextEncoder().encode(`fresh ${Math.random()}`);
        assert.equal((await other.pushBlob(repo(), fresh, { fresh: true })).how, 'uploaded');
        assert.ok(!methods.includes('HEAD'));
        assert.deepEqual(await other.getBlob(repo(), digestOf(fresh)), fresh);
      });

      it('remembers a registry without the referrers API, and asks again when told to', async () => {
        const c = new HttpRegistryClient({
          credentials: anonymous,
          fetch: (u, i) => {
            requests++;
            return fetch(u, i);
          },
        });
        const digest = image.manifest.digest;
        requests = 0;
        const first = await listSignatures(c, repo(), digest);
        assert.equal(requests, reg.referrersApi ? 1 : 2, 'referrers (+ fallback index)');
        requests = 0;
        const second = await listSignatures(c, repo(), digest);
        assert.deepEqual(second.descriptors, first.descriptors);
        assert.equal(second.source, first.source);
        assert.equal(requests, 1, reg.referrersApi ? 'the referrers API' : 'straight to the fallback index: no second 404');
        requests = 0;
        assert.equal((await c.getReferrers(repo(), digest, { fresh: true })).supported, reg.referrersApi);
        assert.equal(requests, 1, 'fresh asks the registry');
        const never = new HttpRegistryClient({ credentials: anonymous, referrersCapabilityTtlMs: 0, fetch: (u, i) => (requests++, fetch(u, i)) });
        await listSignatures(never, repo(), digest);
        requests = 0;
        await listSignatures(never, repo(), digest);
        assert.equal(requests, reg.referrersApi ? 1 : 2, 'with a TTL of 0 every listing asks');
      });

      it('20 concurrent signers on one image lose no signature', async () => {
        const im = makeImage();
        const r = { registry: reg.host, path: 'ocitrust/race' };
        for (const b of im.blobs) await client.pushBlob(r, b.bytes);
        await client.putManifest(r, 'v1', im.manifest.bytes, OCI_MANIFEST);
        const subj = { mediaType: OCI_MANIFEST, digest: im.manifest.digest, size: im.manifest.size };
        // Independent clients, like 20 separate signers.
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => pushSignature(new HttpRegistryClient({ credentials: anonymous }), r, subj, envelope(`race ${i}`))),
        );
        const pushed = new Set(results.map((x) => x.digest));
        assert.equal(pushed.size, 20);
        const full = await listSignatures(client, r, subj.digest, { complete: true });
        assert.deepEqual(new Set(full.descriptors.map((d) => d.digest)), pushed, 'every signature is discoverable');
        if (!reg.referrersApi) {
          await repairIndex(client, r, subj.digest);
          const fast = await listSignatures(client, r, subj.digest);
          assert.deepEqual(new Set(fast.descriptors.map((d) => d.digest)), pushed, 'after repair the index alone lists all');
        }
        if (reg.gcUntagged) {
          // distribution's GC deletes untagged manifests even when a fallback index lists them;
          // the per-signature tags keep every signature alive.
          await reg.gcUntagged();
          const after = await listSignatures(client, r, subj.digest, { complete: true });
          const { envelopes, dropped } = await collectEnvelopes(client, r, subj.digest, after.descriptors, { preferLayer: true });
          assert.deepEqual(dropped, []);
          assert.equal(envelopes.length, 20);
          assert.deepEqual(
            new Set(envelopes.map((e) => Buffer.from(e.envelope).toString())),
            new Set(Array.from({ length: 20 }, (_, i) => Buffer.from(envelope(`race ${i}`)).toString())),
          );
        }
      });

      it('signs an index and its children independently', async () => {
        const sigs = [];
        for (const d of [multi.index, ...multi.images.map((im) => im.manifest)]) {
          sigs.push(await pushSignature(client, repo(), { mediaType: d.mediaType, digest: d.digest, size: d.size }, envelope(d.digest)));
        }
        for (const [i, d] of [multi.index, ...multi.images.map((im) => im.manifest)].entries()) {
          const l = await listSignatures(client, repo(), d.digest);
          assert.deepEqual(l.descriptors.map((x) => x.digest), [sigs[i]!.digest]);
        }
      });

      it('the empty config blob is stored, as distribution requires', async () => {
        assert.equal(await client.headBlob(repo(), digestOf(emptyBlob())), 2);
      });
    });
  });
}
