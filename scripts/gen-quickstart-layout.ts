/**
 * Writes docs/quickstart/hello-oci: a tiny OCI image layout (two one-file images tagged `v1` and
 * `tampered`) that the README's quick start pushes with `skopeo copy`, so a reader needs no
 * Docker engine and no network. Deterministic (gzip mtime 0, fixed tar header): re-running it
 * gives the same digests.
 *
 *   node --import tsx scripts/gen-quickstart-layout.ts
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { tarOneFile } from '../cli/tar.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'quickstart', 'hello-oci');
const enc = new TextEncoder();
const sha = (b: Uint8Array): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });
const blob = (b: Uint8Array): { digest: string; size: number } => {
  const d = sha(b);
  writeFileSync(join(out, 'blobs', 'sha256', d.slice(7)), b);
  return { digest: d, size: b.length };
};
const manifests: object[] = [];
for (const [tag, text] of [['v1', 'hello from the real image\n'], ['tampered', 'hello from a tampered image\n']] as const) {
  const layerTar = tarOneFile('hello.txt', enc.encode(text));
  const layer = blob(gzipSync(layerTar));
  const config = blob(enc.encode(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/hello.txt'] }, rootfs: { type: 'layers', diff_ids: [sha(layerTar)] } })));
  const manifest = blob(
    enc.encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } });
}
writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }, null, 2) + '\n');
process.stdout.write(`wrote ${out}\n`);
