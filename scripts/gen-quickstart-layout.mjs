#!/usr/bin/env node
/**
 * Writes docs/quickstart/hello-oci: a tiny OCI image layout (two one-file images tagged `v1` and
 * `tampered`) that the README's quick start pushes with `skopeo copy`, so a reader needs no
 * Docker engine and no network. Deterministic (gzip mtime 0, fixed tar header): re-running it
 * gives the same digests.
 *
 *   node scripts/gen-quickstart-layout.mjs
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'quickstart', 'hello-oci');
const enc = new TextEncoder();
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A one-file ustar archive. */
function tar(name, content) {
  const h = new Uint8Array(512);
  const put = (off, s) => h.set(enc.encode(s), off);
  const oct = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(0, name);
  put(100, oct(0o644, 8));
  put(108, oct(0, 8));
  put(116, oct(0, 8));
  put(124, oct(content.length, 12));
  put(136, oct(0, 12));
  put(148, '        ');
  put(156, '0');
  put(257, 'ustar\0');
  put(263, '00');
  put(148, h.reduce((a, b) => a + b, 0).toString(8).padStart(6, '0') + '\0 ');
  const t = new Uint8Array(512 + Math.ceil(content.length / 512) * 512 + 1024);
  t.set(h, 0);
  t.set(content, 512);
  return t;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });
const blob = (b) => {
  const d = sha(b);
  writeFileSync(join(out, 'blobs', 'sha256', d.slice(7)), b);
  return { digest: d, size: b.length };
};
const manifests = [];
for (const [tag, text] of [['v1', 'hello from the real image\n'], ['tampered', 'hello from a tampered image\n']]) {
  const layerTar = tar('hello.txt', enc.encode(text));
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
