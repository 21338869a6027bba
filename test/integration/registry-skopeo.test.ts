// Real clients against the embedded registry over real HTTP: skopeo pushes a hand-made OCI image
// and a two-platform index, pulls them back into a new OCI layout, and every manifest, config and
// layer must come back byte for byte. Then an artifact with a subject through plain fetch, and
// the referrers API answering for it. On SQLite and on PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../helpers/embedded-registry.js';
import { allBlobs, makeImage, makeIndex, missingPrograms, skopeoPull, skopeoPush, topBlob, writeOciLayout, type TestBlob } from '../helpers/oci-layout.js';
import { postgresSkipReason } from '../helpers/postgres.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const sha = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function readLayoutBlob(dir: string, digest: string): Buffer {
  return readFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
}

function layoutTop(dir: string, tag: string): { digest: string; mediaType: string } {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
  };
  const e = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(e, `tag ${tag} in the pulled layout`);
  return e;
}

async function pushBlob(reg: EmbeddedRegistry, name: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha(bytes);
  const res = await fetch(`${reg.url}/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(res.status, 201);
  return { digest, size: bytes.length };
}

function suite(engine: 'sqlite' | 'postgres'): void {
  describe(`embedded registry with skopeo over HTTP (${engine})`, () => {
    let reg: EmbeddedRegistry;
    let work: string;
    let skip: string | undefined;

    before(async () => {
      skip = missingPrograms('skopeo') ?? (engine === 'postgres' ? postgresSkipReason() : undefined);
      if (skip) return;
      reg = await startEmbeddedRegistry({ db: engine });
      work = mkdtempSync(join(tmpdir(), 'ocitrust-skopeo-'));
    });
    after(async () => {
      await reg?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('skopeo push then pull of an image and a two-platform index gives back identical bytes', async (t) => {
      if (skip) return t.skip(skip);
      const image = makeImage();
      const multi = makeIndex();
      const src = join(work, 'src');
      await writeOciLayout(src, [
        { tag: 'img', content: image },
        { tag: 'multi', content: multi },
      ]);
      await skopeoPush(src, 'img', `${reg.host}/team/app:v1`);
      await skopeoPush(src, 'multi', `${reg.host}/team/app:multi`);

      // The registry holds exactly the pushed bytes.
      const m = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('docker-content-digest'), image.manifest.digest);
      assert.ok(Buffer.from(await m.arrayBuffer()).equals(Buffer.from(image.manifest.bytes)));
      const mi = await fetch(`${reg.url}/v2/team/app/manifests/multi`, { headers: { accept: OCI_INDEX } });
      assert.equal(mi.headers.get('content-type'), OCI_INDEX);
      assert.equal(mi.headers.get('docker-content-digest'), multi.index.digest);

      const out = join(work, 'out');
      await skopeoPull(`${reg.host}/team/app:v1`, out, 'v1');
      await skopeoPull(`${reg.host}/team/app:multi`, out, 'multi');

      const top1 = layoutTop(out, 'v1');
      assert.equal(top1.digest, image.manifest.digest);
      const top2 = layoutTop(out, 'multi');
      assert.equal(top2.digest, multi.index.digest);
      const expected: TestBlob[] = [...allBlobs(image), ...allBlobs(multi)];
      for (const b of expected) {
        assert.ok(readLayoutBlob(out, b.digest).equals(Buffer.from(b.bytes)), `${b.mediaType} ${b.digest} differs after the round trip`);
      }
      assert.equal(topBlob(multi).mediaType, OCI_INDEX);

      const tags = (await (await fetch(`${reg.url}/v2/team/app/tags/list`)).json()) as { tags: string[] };
      assert.deepEqual(tags.tags, ['multi', 'v1']);
    });

    it('an artifact with a subject pushed over HTTP is answered with OCI-Subject and listed by the referrers API', async (t) => {
      if (skip) return t.skip(skip);
      const image = makeImage();
      const src = join(work, 'src2');
      await writeOciLayout(src, [{ tag: 'img', content: image }]);
      await skopeoPush(src, 'img', `${reg.host}/signed/app:v2`);

      const empty = await pushBlob(reg, 'signed/app', Buffer.from('{}'));
      const envelope = await pushBlob(reg, 'signed/app', randomBytes(200));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.ocitrust.signature.v1+json',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty },
          layers: [{ mediaType: 'application/vnd.dsse.envelope.v1+json', ...envelope }],
          subject: { mediaType: OCI_MANIFEST, digest: image.manifest.digest, size: image.manifest.size },
          annotations: { 'dev.ocitrust.envelope': 'ZQ==' },
        }),
      );
      const put = await fetch(`${reg.url}/v2/signed/app/manifests/${sha(manifest)}`, { method: 'PUT', body: manifest, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('oci-subject'), image.manifest.digest);

      const res = await fetch(`${reg.url}/v2/signed/app/referrers/${image.manifest.digest}?artifactType=application/vnd.ocitrust.signature.v1%2Bjson`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), OCI_INDEX);
      assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
      assert.deepEqual(await res.json(), {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: OCI_MANIFEST,
            digest: sha(manifest),
            size: manifest.length,
            artifactType: 'application/vnd.ocitrust.signature.v1+json',
            annotations: { 'dev.ocitrust.envelope': 'ZQ==' },
          },
        ],
      });

      // skopeo copies the signature manifest out as well, byte for byte.
      const out = join(work, 'out2');
      await skopeoPull(`${reg.host}/signed/app@${sha(manifest)}`, out, 'sig');
      assert.ok(readLayoutBlob(out, sha(manifest)).equals(manifest));
    });
  });
}

suite('sqlite');
suite('postgres');
